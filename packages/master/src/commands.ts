// The commands that talk to a running master over its control socket: reload, stop and status.
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { readConfigFile } from '@aerys-cluster/shared';
import type { ControlCommand, ControlResponse } from './control.js';
import { controlSocketPath } from './control-path.js';
import { formatStatus } from './status-table.js';
import { defineFlags, GROUPS, type FlagTable } from './cli-flags.js';

export interface ControlArgs {
  config?: string;
  'pid-file'?: string;
  'control-socket'?: string;
  timeout?: number;
  json?: boolean;
  watch?: number;
}

/** Flags shared by reload, stop and status: how to find the master, and how long to wait. */
const CONTROL_FLAGS: FlagTable = {
  config: { alias: 'c', type: 'string', describe: 'Configuration file the cluster was started with; locates the master', unit: 'path', defaultText: 'none', group: GROUPS.target },
  'pid-file': { type: 'string', describe: 'PID file of the master; the control socket is this path + ".sock"', unit: 'path', defaultText: 'none', group: GROUPS.target },
  'control-socket': { type: 'string', describe: 'Control socket of the master', unit: 'path', defaultText: 'from --pid-file or --config, else derived from the working directory', group: GROUPS.target },
  timeout: { type: 'number', default: 300, describe: 'Time to wait for the master to finish the command', unit: 'seconds', group: GROUPS.output },
};

const STATUS_FLAGS: FlagTable = {
  ...CONTROL_FLAGS,
  json: { type: 'boolean', default: false, describe: 'Print the status snapshot as JSON, for scripts', group: GROUPS.output },
  watch: { type: 'number', describe: 'Refresh the table every N seconds until interrupted', unit: 'seconds', defaultText: 'off, print once', group: GROUPS.output },
};

export function reloadOptions(args: Argv): Argv<ControlArgs> {
  return defineFlags<ControlArgs>(args, 'reload', CONTROL_FLAGS)
    .example('$0 reload -c aerys.config.mjs', 'Reload the cluster started with this file')
    .example('$0 reload --pid-file /run/aerys.pid', 'Find the master through its PID file')
    .example('$0 reload -c prod.json --timeout 60', 'Stop waiting for the result after a minute');
}

export function stopOptions(args: Argv): Argv<ControlArgs> {
  return defineFlags<ControlArgs>(args, 'stop', CONTROL_FLAGS)
    .example('$0 stop -c aerys.config.mjs', 'Drain and stop the cluster started with this file')
    .example('$0 stop --pid-file /run/aerys.pid', 'Find the master through its PID file')
    .example('$0 stop -c prod.json --timeout 30', 'Stop waiting for the exit after 30 s');
}

export function statusOptions(args: Argv): Argv<ControlArgs> {
  return defineFlags<ControlArgs>(args, 'status', STATUS_FLAGS)
    .example('$0 status -c aerys.config.mjs', 'Print the status table once')
    .example('$0 status -c aerys.config.mjs --json', 'Print the snapshot as JSON')
    .example('$0 status --pid-file x.pid --watch 2', 'Refresh the table every 2 s');
}

/** Finds the control socket from the flags, the same way the master chose it. */
export async function resolveControlSocket(args: ControlArgs): Promise<string> {
  if (args['control-socket']) return resolve(args['control-socket']);
  if (args['pid-file']) return controlSocketPath({ controlSocket: null, pidFile: resolve(args['pid-file']), configFile: null });
  if (!args.config) return controlSocketPath({ controlSocket: null, pidFile: null, configFile: null });

  // The file is read without validation: an operator may have broken it while the master runs.
  const file = resolve(args.config);
  const raw = await readConfigFile(file);
  const path = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? resolve(dirname(file), value) : null);
  return controlSocketPath({ controlSocket: path(raw.controlSocket), pidFile: path(raw.pidFile), configFile: file });
}

/** Sends one command and resolves with the master's response; `onClose` runs when the connection ends. */
export function sendCommand(socketPath: string, command: ControlCommand, timeoutSeconds: number, onClose?: () => void): Promise<ControlResponse> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(socketPath);
    let buffered = '';
    let answered = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No response from the master on ${socketPath} within ${timeoutSeconds} s. Raise --timeout or check the master's log.`));
    }, timeoutSeconds * 1000);

    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ command })}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (answered || end === -1) return;
      answered = true;
      if (!onClose) clearTimeout(timer);
      try {
        resolvePromise(JSON.parse(buffered.slice(0, end)) as ControlResponse);
      } catch {
        reject(new Error(`Invalid response from the master on ${socketPath}: ${buffered.slice(0, 200)}`));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? ' Is the cluster running? Pass the --pid-file, --control-socket or --config it was started with.' : '';
      reject(new Error(`Cannot reach the master on ${socketPath}: ${error.code ?? error.message}.${hint}`));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!answered) reject(new Error(`The master on ${socketPath} closed the connection without an answer.`));
      else onClose?.();
    });
  });
}

/** `reload`: waits for the rolling reload; exits 1 with the reason when it failed. */
export async function runReload(args: ControlArgs): Promise<number> {
  const socketPath = await resolveControlSocket(args);
  const response = await sendCommand(socketPath, 'reload', args.timeout ?? 300);
  if (args.json) process.stdout.write(`${JSON.stringify(response)}\n`);
  if (!('command' in response) || response.command !== 'reload') {
    throw new Error('error' in response ? response.error : 'Unexpected response from the master.');
  }
  const reload = response.reload;
  if (reload.result === 'failed') {
    process.stderr.write(`aerys-cluster: reload failed: ${reload.error ?? 'unknown error'}\nThe running workers keep serving; fix the problem and reload again.\n`);
    return 1;
  }
  if (!args.json) process.stdout.write(`Reload succeeded: generation ${reload.generation} serves (${(reload.durationMs / 1000).toFixed(1)} s).\n`);
  return 0;
}

/** `stop`: starts the graceful drain and waits until the master process exited. */
export async function runStop(args: ControlArgs): Promise<number> {
  const socketPath = await resolveControlSocket(args);
  const timeout = args.timeout ?? 300;
  let closed: () => void = () => undefined;
  const connectionClosed = new Promise<void>((done) => (closed = done));
  const response = await sendCommand(socketPath, 'stop', timeout, () => closed());
  if (!('command' in response) || response.command !== 'stop') {
    throw new Error('error' in response ? response.error : 'Unexpected response from the master.');
  }

  // The master closes the connection as it exits; the PID check covers the last few milliseconds.
  await connectionClosed;
  const deadline = Date.now() + timeout * 1000;
  while (isAlive(response.pid)) {
    if (Date.now() > deadline) throw new Error(`Master ${response.pid} is still running after ${timeout} s.`);
    await new Promise((done) => setTimeout(done, 20));
  }
  process.stdout.write(`Stopped the master (PID ${response.pid}).\n`);
  return 0;
}

/** `status`: prints the table, or the JSON snapshot with --json; --watch SECONDS refreshes. */
export async function runStatus(args: ControlArgs): Promise<number> {
  const socketPath = await resolveControlSocket(args);
  const render = async (): Promise<void> => {
    const response = await sendCommand(socketPath, 'status', args.timeout ?? 300);
    if (!('command' in response) || response.command !== 'status') {
      throw new Error('error' in response ? response.error : 'Unexpected response from the master.');
    }
    const text = args.json ? `${JSON.stringify(response.status, null, 2)}\n` : formatStatus(response.status);
    // With --watch, clear the terminal so the table stays in place.
    process.stdout.write(args.watch ? `\x1b[2J\x1b[H${text}` : text);
  };

  await render();
  if (!args.watch) return 0;
  const intervalMs = Math.max(0.2, args.watch) * 1000;
  // Runs until Ctrl-C, or until the master cannot be reached (the error ends the command).
  for (;;) {
    await new Promise((done) => setTimeout(done, intervalMs));
    await render();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
