// The aerys-cluster command line.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { ConfigError, EXIT_CONFIG, LOG_FORMAT_ENV, LOG_FORMATS, LOG_LEVELS, loadConfig, optionDefault, parseListenAddress, resolveLogFormat } from '@aerys-cluster/shared';
import { defineFlags, GROUPS, type FlagTable } from './cli-flags.js';
import { reloadOptions, runReload, runStatus, runStop, statusOptions, stopOptions, type ControlArgs } from './commands.js';
import { Master } from './master.js';
import { runCheck } from './check-command.js';
import { cachedWorkerIdentity } from './privileges.js';

interface StartArgs {
  config?: string;
  listen?: string[];
  workers?: number;
  root?: string;
  app?: string;
  'pid-file'?: string;
  'control-socket'?: string;
  'log-level'?: string;
  'log-format'?: string;
}

const START_FLAGS: FlagTable = {
  config: {
    alias: 'c',
    type: 'string',
    describe: 'Configuration file: .json, or .mjs/.js exporting the configuration as default',
    unit: 'path',
    defaultText: 'none',
    group: GROUPS.config,
  },
  listen: {
    alias: 'l',
    type: 'string',
    array: true,
    describe: 'Listener HOST:PORT, [IPv6]:PORT or :PORT; repeat for more; replaces `listen`',
    defaultText: optionDefault('listen'),
    group: GROUPS.overrides,
  },
  workers: { alias: 'w', type: 'number', describe: 'Worker processes', unit: 'count, 1 to 1024', defaultText: optionDefault('workers'), group: GROUPS.overrides },
  root: { type: 'string', describe: 'Directory of static files', unit: 'path', defaultText: optionDefault('root'), group: GROUPS.overrides },
  app: { type: 'string', describe: 'Application: ES module whose default export is a (req, res) listener', unit: 'path', defaultText: optionDefault('app'), group: GROUPS.overrides },
  'pid-file': { type: 'string', describe: "File that receives the master's PID", unit: 'path', defaultText: optionDefault('pidFile'), group: GROUPS.overrides },
  'control-socket': { type: 'string', describe: 'Unix socket for reload, stop and status', unit: 'path', defaultText: 'PID file + ".sock"', group: GROUPS.overrides },
  'log-level': { type: 'string', choices: LOG_LEVELS, describe: 'Lowest log level written', defaultText: optionDefault('logLevel'), group: GROUPS.logging },
  'log-format': { type: 'string', choices: LOG_FORMATS, describe: 'Log format: auto is pretty on a terminal, JSON otherwise', defaultText: 'auto', group: GROUPS.logging },
};

function startOptions(args: Argv): Argv<StartArgs> {
  return defineFlags<StartArgs>(args, 'start', START_FLAGS)
    .example('$0 start -c aerys.config.mjs', 'Start with a configuration module')
    .example('$0 start -l :8080 --app app.mjs', 'Start from flags only, no file')
    .example('$0 start -c prod.json --workers 4', 'Override one option of the file')
    .example('$0 start -c prod.json --pid-file x.pid', 'Let reload, stop and status find it');
}

/** `check` takes the start flags that change the configuration; it writes no log. */
const CHECK_FLAGS: FlagTable = Object.fromEntries(Object.entries(START_FLAGS).filter(([name]) => name !== 'log-format'));

function checkOptions(args: Argv): Argv<StartArgs> {
  return defineFlags<StartArgs>(args, 'check', CHECK_FLAGS)
    .example('$0 check -c aerys.config.mjs', 'Validate before a start or a reload')
    .example('$0 check -c prod.json --workers 64', 'Include a flag override in the check')
    .example('$0 check -l 0.0.0.0:80', 'Check the defaults with one listener');
}

/** Turns start flags into configuration overrides; flags win over the file. */
function overridesFrom(args: StartArgs): Record<string, unknown> {
  return {
    listen: args.listen?.map((text) => parseListenAddress('--listen', text)),
    workers: args.workers,
    root: args.root,
    app: args.app,
    pidFile: args['pid-file'],
    controlSocket: args['control-socket'],
    logLevel: args['log-level'],
  };
}

function fail(message: string, code: number): never {
  process.stderr.write(`aerys-cluster: ${message}\n`);
  process.exit(code);
}

/** Exit code for a command line that cannot be parsed, as shells and most CLIs use it. */
const EXIT_USAGE = 2;

function usageError(message: string): never {
  const hint = message.includes('--help') ? '' : '\nRun "aerys-cluster --help" for the commands, "aerys-cluster COMMAND --help" for their flags.';
  fail(`${message}${hint}`, EXIT_USAGE);
}

async function start(args: StartArgs): Promise<void> {
  // Workers inherit the environment, so they write the same format as the master.
  process.env[LOG_FORMAT_ENV] = resolveLogFormat(args['log-format'] ?? process.env[LOG_FORMAT_ENV], process.stdout.isTTY === true);
  let config;
  try {
    config = await loadConfig(args.config, overridesFrom(args));
    cachedWorkerIdentity(config);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, EXIT_CONFIG);
    throw error;
  }

  // A reload reads the same file with the same flags again, so flags keep winning over the file.
  const master = new Master(config, {
    configFile: args.config ? resolve(args.config) : null,
    reloadConfig: () => loadConfig(args.config, overridesFrom(args)),
  });
  let interrupts = 0;
  const stop = (signal: NodeJS.Signals): void => {
    master.log.info({ signal }, 'signal received');
    if (signal === 'SIGINT' && ++interrupts > 1) {
      master.forceStop();
      process.exit(130);
    }
    void master.stop(signal).then((code) => process.exit(code));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Signal handlers only record the intent; the master's operation loop applies it.
  process.on('SIGHUP', (signal) => {
    master.log.info({ signal }, 'signal received');
    void master.requestReload(signal);
  });
  process.on('SIGTTIN', (signal) => master.requestScale(1, signal));
  process.on('SIGTTOU', (signal) => master.requestScale(-1, signal));

  try {
    await master.start();
  } catch (error) {
    master.log.fatal({ err: error }, 'cluster failed to start');
    // The log may go to a collector; the operator at the terminal gets the reason on stderr too.
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(`aerys-cluster: cluster failed to start: ${reason.split('\n')[0] ?? reason}\n`);
    process.exit(master.state === 'stopped' ? EXIT_CONFIG : 1);
  }
  // A stop through the control socket ends the process here, like SIGTERM does in `stop`.
  void master.stopped().then((code) => process.exit(code));
}

/** Runs a control command and exits with its status; errors are printed without a stack. */
function control(run: (args: ControlArgs) => Promise<number>): (args: ControlArgs) => Promise<void> {
  return (args) =>
    run(args).then(
      (code) => process.exit(code),
      (error: unknown) => fail(error instanceof Error ? error.message : String(error), 1),
    );
}

/** Returns the version in this package's package.json; yargs cannot find it from an ES module. */
function packageVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** Runs the CLI with the given arguments (without the node and script paths). */
export function main(argv: string[]): void {
  void yargs(argv)
    .scriptName('aerys-cluster')
    .usage('$0 COMMAND [options]')
    .command('start', 'Start the cluster in the foreground', startOptions, (args) => start(args as StartArgs))
    .command('check', 'Validate a configuration and print the production checklist without starting anything', checkOptions, (args) => runCheck(args.config, overridesFrom(args as StartArgs)))
    .command('reload', 'Roll every worker over to the current configuration and application; waits for the result', reloadOptions, control(runReload))
    .command('stop', 'Drain every worker and stop the cluster; waits until the master exited', stopOptions, control(runStop))
    .command('status', 'Show the master, its workers and the last reload', statusOptions, control(runStatus))
    .demandCommand(1, 'Name a command: start, check, reload, stop or status.')
    // defineFlags rejects unknown flags per command with a suggestion, where strict() would only
    // print "Unknown argument".
    .strictCommands()
    // Without negation, `--no-json` is reported as the unknown flag it is, not as `--json=false`.
    .parserConfiguration({ 'boolean-negation': false })
    .recommendCommands()
    .example('$0 start --config aerys.config.mjs', 'Start a cluster in the foreground')
    .example('$0 reload -c aerys.config.mjs', 'Roll the workers over to the edited file')
    .example('$0 start --help', 'Flags of one command, with units and defaults')
    .epilogue('Settings: docs/configuration.md\nSignals and reload: docs/operations.md\nDeployment: docs/deployment.md')
    .help()
    .alias('help', 'h')
    .version(packageVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, error) => {
      // yargs passes a message for command-line problems and only an error when a handler throws.
      if (message?.startsWith('Did you mean')) usageError(`Unknown command "${String(argv[0])}". ${message}`);
      if (message) usageError(message);
      fail(error instanceof Error ? error.message : String(error), 1);
    })
    .parseAsync()
    .catch((error: unknown) => fail(error instanceof Error ? error.message : String(error), 1));
}
