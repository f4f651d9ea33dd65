// Smoke tests of the benchmark runner (bench/run.mjs): its options, its plan, and one short real
// round. Speed itself is measured by the benchmark, never asserted here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, tempDir } from './helpers/cluster.js';

const RUNNER = join(REPO_ROOT, 'bench/run.mjs');

function runBench(args: string[], timeoutMs = 10_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [RUNNER, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: timeoutMs });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('plan lists every scenario in quick mode', () => {
  const { status, stdout } = runBench(['--plan']);
  assert.equal(status, 0);
  for (const scenario of ['hello-keepalive', 'hello-close', 'h2c', 'h2-tls', 'static-1k', 'static-1m', 'ws-echo', 'idle', 'reload']) {
    assert.match(stdout, new RegExp(`^  ${scenario} `, 'm'), `scenario ${scenario} missing from the plan`);
  }
  const seconds = Number(/estimated time: (\d+) s/.exec(stdout)?.[1]);
  assert.ok(seconds > 0, `quick mode estimate is ${seconds} s`);
  assert.ok(seconds < 300, `quick mode estimate is ${seconds} s`);
});

test('plan honours scenario and contender filters', () => {
  const { status, stdout } = runBench(['--full', '--plan', '--scenarios', 'hello-close,static-1k', '--contenders', 'aerys-cluster,nginx']);
  assert.equal(status, 0);
  assert.match(stdout, /^mode full: .* 5 rounds of 10 s/m);
  assert.match(stdout, /^  hello-close \(throughput\): aerys-cluster, nginx$/m);
  assert.match(stdout, /^  static-1k \(throughput\): aerys-cluster, nginx$/m);
  assert.doesNotMatch(stdout, /hello-keepalive/);
});

test('bad options exit 2 with the accepted values', () => {
  const cases: Array<{ args: string[]; message: RegExp }> = [
    { args: ['--rounds', '0'], message: /--rounds must be an integer from 1 to 50; got "0"/ },
    { args: ['--duration=abc'], message: /--duration must be an integer from 1 to 300; got "abc"/ },
    { args: ['--scenarios', 'hello,idle'], message: /--scenarios: unknown name "hello"; known: hello-keepalive, / },
    { args: ['--contenders'], message: /--contenders needs a value/ },
    { args: ['--fast'], message: /Unknown option --fast/ },
  ];
  for (const { args, message } of cases) {
    const { status, stderr } = runBench(args);
    assert.equal(status, 2, `exit code for ${args.join(' ')}`);
    assert.match(stderr, message);
  }
});

test('one short round prints a table with ratios', () => {
  const json = join(tempDir('aerys-bench-test-'), 'result.json');
  const args = ['--scenarios', 'hello-keepalive', '--contenders', 'aerys-cluster,node-cluster', '--rounds', '1', '--duration', '1', '--warmup', '0', '--workers', '1', '--json', json];
  const { status, stdout, stderr } = runBench(args, 60_000);
  assert.equal(status, 0, stderr);

  assert.match(stdout, /^\| aerys-cluster \| [\d,]+ \| [\d.]+ \|/m);
  assert.match(stdout, /^\| node-cluster \| [\d,]+ \| 1\.00 \|/m);
  assert.match(stdout, /aerys-cluster \/ node-cluster: [\d.]+/);

  const saved = JSON.parse(readFileSync(json, 'utf8')) as { results: Array<{ outcome: { rounds: Record<string, Array<{ rps: number; errors: number }>> } }> };
  const rounds = saved.results[0]?.outcome.rounds ?? {};
  for (const name of ['aerys-cluster', 'node-cluster']) {
    const round = rounds[name]?.[0];
    assert.ok(round, `${name} has no round`);
    assert.ok(round.rps > 0, `${name} served no request`);
    assert.equal(round.errors, 0, `${name} errors`);
  }
});
