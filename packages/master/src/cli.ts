// The aerys-cluster command line.
import yargs, { type Argv } from 'yargs';
import { ConfigError, EXIT_CONFIG, LOG_LEVELS, loadConfig, parseListenAddress } from '@aerys-cluster/shared';
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

  const master = new Master(config);
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
  process.on('SIGHUP', (signal) => master.log.warn({ signal }, 'reload is not available in this build; signal ignored'));

  try {
    await master.start();
  } catch (error) {
    master.log.fatal({ err: error }, 'cluster failed to start');
    process.exit(master.state === 'stopped' ? EXIT_CONFIG : 1);
  }
}

/** Runs the CLI with the given arguments (without the node and script paths). */
export function main(argv: string[]): void {
  void yargs(argv)
    .scriptName('aerys-cluster')
    .usage('$0 COMMAND [options]')
    .command('start', 'Start the cluster in the foreground', startOptions, (args) => start(args as StartArgs))
    .command('check', 'Validate a configuration and print the production checklist without starting anything', startOptions, (args) => runCheck(args.config, overridesFrom(args as StartArgs)))
    .demandCommand(1, 'Name a command: start.')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .parseAsync()
    .catch((error: unknown) => fail(error instanceof Error ? error.message : String(error), 1));
}
