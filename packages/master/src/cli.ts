// The aerys-cluster command line.
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { ConfigError, EXIT_CONFIG, LOG_LEVELS, loadConfig, parseListenAddress } from '@aerys-cluster/shared';
import { controlOptions, runReload, runStatus, runStop, statusOptions, type ControlArgs } from './commands.js';
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
}

function startOptions(args: Argv): Argv<StartArgs> {
  return args
    .option('config', { alias: 'c', type: 'string', describe: 'Configuration file: .json, or an ES module (.mjs, .js) whose default export is the configuration', group: 'Configuration:' })
    .option('listen', { alias: 'l', type: 'string', array: true, describe: 'Listener address HOST:PORT; repeat for several; replaces `listen` of the file', group: 'Overrides:' })
    .option('workers', { alias: 'w', type: 'number', describe: 'Worker processes [default: CPU count]', group: 'Overrides:' })
    .option('root', { type: 'string', describe: 'Directory of static files', group: 'Overrides:' })
    .option('app', { type: 'string', describe: 'Application module (ES module, default export is the handler)', group: 'Overrides:' })
    .option('pid-file', { type: 'string', describe: "File that receives the master's PID", group: 'Overrides:' })
    .option('control-socket', { type: 'string', describe: 'Unix socket for reload, stop and status [default: PID file + ".sock"]', group: 'Overrides:' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS as unknown as string[], describe: 'Lowest log level written [default: info]', group: 'Overrides:' })
    .example('$0 start --config aerys.config.mjs', 'Start with a configuration module')
    .example('$0 start --listen 127.0.0.1:8080 --root ./public --app ./app.mjs', 'Start from flags only')
    .example('$0 start -c prod.json --workers 4 --pid-file /run/aerys.pid', 'Override the file');
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

async function start(args: StartArgs): Promise<void> {
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

/** Runs the CLI with the given arguments (without the node and script paths). */
export function main(argv: string[]): void {
  void yargs(argv)
    .scriptName('aerys-cluster')
    .usage('$0 COMMAND [options]')
    .command('start', 'Start the cluster in the foreground', startOptions, (args) => start(args as StartArgs))
    .command('check', 'Validate a configuration and print the production checklist without starting anything', startOptions, (args) => runCheck(args.config, overridesFrom(args as StartArgs)))
    .command('reload', 'Roll every worker over to the current configuration and application; waits for the result', controlOptions, control(runReload))
    .command('stop', 'Drain every worker and stop the cluster; waits until the master exited', controlOptions, control(runStop))
    .command('status', 'Show the master, its workers and the last reload', statusOptions, control(runStatus))
    .demandCommand(1, 'Name a command: start, check, reload, stop or status.')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .parseAsync()
    .catch((error: unknown) => fail(error instanceof Error ? error.message : String(error), 1));
}
