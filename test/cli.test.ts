// The command line as an operator meets it: help for every command with units, defaults and
// examples, and unknown flags or commands rejected with a suggestion before anything starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, REPO_ROOT } from './helpers/cluster.js';

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 15_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Commands listed under "Commands:" in the top-level help. */
function listCommands(help: string): string[] {
  const section = help.split('\n\n').find((block) => block.startsWith('Commands:')) ?? '';
  return [...section.matchAll(/^\s+aerys-cluster (\w+)/gm)].map((match) => match[1] ?? '');
}

/**
 * Splits the flag sections of a command's help into one text per flag, keyed by its long name.
 * A flag's text starts at its `--name` line and runs until the next flag or section.
 */
function flagEntries(help: string): Map<string, string> {
  const entries = new Map<string, string>();
  let current: string | null = null;
  for (const line of help.split('\n')) {
    const start = /^\s+(?:-\w, )?--([\w-]+)/.exec(line);
    if (start?.[1]) {
      current = start[1];
      entries.set(current, line);
    } else if (current !== null && /^\s{4,}\S/.test(line)) {
      entries.set(current, `${entries.get(current) ?? ''} ${line.trim()}`);
    } else {
      current = null;
    }
  }
  return entries;
}

test('top-level help lists commands and examples', () => {
  const result = runCli(['--help']);
  assert.equal(result.status, 0);
  assert.ok(listCommands(result.stdout).includes('start'), result.stdout);
  assert.match(result.stdout, /Examples:/);
  assert.match(result.stdout, /docs\/configuration\.md/);
});

test('every command help has defaults and examples', () => {
  const commands = listCommands(runCli(['--help']).stdout);
  assert.ok(commands.length > 0);

  for (const command of commands) {
    const result = runCli([command, '--help']);
    assert.equal(result.status, 0, `${command} --help exits 0`);

    const flags = flagEntries(result.stdout);
    flags.delete('help');
    flags.delete('version');
    for (const [flag, text] of flags) {
      assert.match(text, /\[default: [^\]]+\]/, `${command} --${flag} shows its default: ${text}`);
    }

    const examples = result.stdout.split('Examples:')[1] ?? '';
    const count = [...examples.matchAll(/^\s+aerys-cluster /gm)].length;
    assert.ok(count >= 2, `${command} --help shows at least two examples, found ${count}`);
  }
});

test('every command rejects unknown flags', () => {
  const commands = listCommands(runCli(['--help']).stdout);
  for (const command of commands) {
    const result = runCli([command, '--no-such-flag']);
    assert.equal(result.status, 2, `${command} exits 2: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`Unknown flag --no-such-flag for "${command}"`));
  }
});

test('start help gives units of numeric flags', () => {
  const flags = flagEntries(runCli(['start', '--help']).stdout);
  assert.match(flags.get('workers') ?? '', /\(count, 1 to 1024\)/);
  assert.match(flags.get('workers') ?? '', /\[default: CPU count\]/);
  assert.match(flags.get('listen') ?? '', /\[default: 127\.0\.0\.1:8080\]/);
  assert.match(flags.get('log-level') ?? '', /\[default: info\]/);
});

test('misspelled flag suggests the closest flag', () => {
  const result = runCli(['start', '--lisen', '127.0.0.1:0']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Unknown flag --lisen for "start"\. Did you mean --listen\?/);
  assert.equal(result.stdout, '', 'nothing started');
});

test('misspelled dashed flag is reported once', () => {
  const result = runCli(['start', '--pid-fil', '/tmp/x.pid']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Unknown flag --pid-fil for "start"\. Did you mean --pid-file\?/);
  assert.doesNotMatch(result.stderr, /pidFil/);
});

test('unrelated flag lists the known flags', () => {
  const result = runCli(['start', '--frobnicate']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Unknown flag --frobnicate for "start"\. Known flags: --config, --listen/);
});

test('misspelled command suggests the closest command', () => {
  const result = runCli(['strat']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Unknown command "strat"\. Did you mean start\?/);
});

test('invalid flag value names the choices', () => {
  const result = runCli(['start', '--log-level', 'loud']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /log-level/);
  assert.match(result.stderr, /"info"/);
});

test('--version prints the package version', () => {
  const output = runCli(['--version']).stdout;
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/master/package.json'), 'utf8')) as { version: string };
  assert.equal(output.trim(), version);
});
