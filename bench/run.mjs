#!/usr/bin/env node
// The benchmark suite: aerys-cluster side by side with bare node:cluster, a single Node process,
// PM2, nginx, Express and the bare HTTP/2 and WebSocket servers, all on 127.0.0.1 with the same
// worker count. See docs/benchmarks.md for what each scenario measures and what limits it.
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UsageError, USAGE, parseArgs } from './lib/args.mjs';
import { CONTENDER_NAMES } from './lib/contenders.mjs';
import { BENCH_DIR } from './lib/paths.mjs';
import { readProfiles, renderProfiles } from './lib/profile.mjs';
import { renderReport } from './lib/report.mjs';
import { runIdle, runReload, runThroughput } from './lib/runner.mjs';
import { SCENARIOS, SCENARIO_NAMES } from './lib/scenarios.mjs';
import { buildWorkspace, ensureDebianTools, makeCertificate } from './lib/tools.mjs';

const log = (message) => process.stderr.write(`${message}\n`);

/** Scenarios with the contenders each will run, after --scenarios and --contenders. */
export function buildPlan(settings) {
  const scenarios = settings.profile && !settings.scenarios ? SCENARIOS.filter((s) => s.name.startsWith('hello-')) : SCENARIOS;
  return scenarios
    .filter((scenario) => !settings.scenarios || settings.scenarios.includes(scenario.name))
    .map((scenario) => {
      let contenders = scenario.contenders.filter((name) => !settings.contenders || settings.contenders.includes(name));
      // A profile compares aerys-cluster with the scenario's Node baseline; nginx has no --cpu-prof.
      if (settings.profile) contenders = contenders.filter((name) => name === 'aerys-cluster' || (scenario.baselines.includes(name) && name !== 'nginx'));
      return { scenario, contenders };
    })
    .filter(({ contenders }) => contenders.length > 0);
}

/** Rough seconds a plan takes: load time plus about 2 s to start and stop each contender. */
export function estimateSeconds(plan, settings) {
  let total = 10;
  for (const { scenario, contenders } of plan) {
    const n = contenders.length;
    if (scenario.kind === 'throughput') total += n * (2 + settings.warmup) + settings.rounds * n * (settings.duration + 0.3);
    else if (scenario.kind === 'idle') total += settings.idleRounds * n * (4 + (2 * settings.settleMs) / 1000 + settings.idleConnections / 2000);
    else total += 8 + settings.warmup + settings.reloadRounds * 2 * settings.reloadDuration;
  }
  return Math.round(total);
}

function printPlan(plan, settings) {
  const lines = [`mode ${settings.mode}: ${settings.workers} workers per contender, ${settings.rounds} rounds of ${settings.duration} s, warm-up ${settings.warmup} s`];
  for (const { scenario, contenders } of plan) lines.push(`  ${scenario.name} (${scenario.kind}): ${contenders.join(', ')}`);
  lines.push(`estimated time: ${estimateSeconds(plan, settings)} s`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function requiredTools(plan) {
  const tools = new Set(['wrk']);
  for (const { scenario, contenders } of plan) {
    if (scenario.tool === 'h2load') tools.add('h2load');
    if (scenario.purpose === 'h2-tls') tools.add('openssl');
    if (contenders.includes('nginx')) tools.add('nginx');
  }
  return [...tools];
}

/** Creates the run's private directory with the static files, the TLS certificate, configs and profiles. */
function makeContext(settings) {
  const dir = mkdtempSync(join(tmpdir(), 'aerys-bench-'));
  const staticRoot = join(dir, 'static');
  mkdirSync(staticRoot);
  for (const [name, size] of [['file-1k.bin', 1024], ['file-1m.bin', 1024 * 1024]]) writeFileSync(join(staticRoot, name), randomFillSync(Buffer.alloc(size)));
  const ctx = { dir, staticRoot, workers: settings.workers, tls: null, nodeArgs: null };
  if (settings.profile) {
    ctx.profileDir = join(dir, 'profiles');
    ctx.primaryPids = new Set();
    ctx.nodeArgs = (name) => ['--cpu-prof', `--cpu-prof-dir=${join(ctx.profileDir, ctx.scenarioName, name)}`];
  }
  return ctx;
}

const RUNNERS = { throughput: runThroughput, idle: runIdle, reload: runReload };

async function main() {
  let settings;
  try {
    settings = parseArgs(process.argv.slice(2), { scenarios: SCENARIO_NAMES, contenders: CONTENDER_NAMES });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  if (settings.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (settings.profile) Object.assign(settings, { rounds: 1 });
  const plan = buildPlan(settings);
  if (plan.length === 0) {
    process.stderr.write('bench: no scenario has a contender left after --scenarios and --contenders.\n');
    process.exit(2);
  }
  if (settings.plan) {
    printPlan(plan, settings);
    return;
  }

  const startedAt = Date.now();
  const missing = ensureDebianTools(requiredTools(plan), log);
  if (missing.includes('wrk')) throw new Error('wrk is required for every scenario and could not be installed.');
  buildWorkspace(log);
  const ctx = makeContext(settings);
  if (!missing.includes('openssl')) ctx.tls = makeCertificate(ctx.dir);
  const cleanup = () => rmSync(ctx.dir, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });

  const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  log(`${machine}; ${settings.workers} workers per contender; mode ${settings.mode}`);
  const results = [];
  for (const { scenario, contenders } of plan) {
    log(`\n${scenario.name}: ${scenario.title}`);
    ctx.scenarioName = scenario.name;
    const blocked = missing.find((tool) => tool === scenario.tool || (tool === 'openssl' && scenario.purpose === 'h2-tls'));
    const names = contenders.filter((name) => !(name === 'nginx' && missing.includes('nginx')));
    const outcome = blocked
      ? { unavailable: `${blocked} is not installed`, failures: {} }
      : await RUNNERS[scenario.kind](scenario, names, settings, ctx, log);
    if (names.length < contenders.length && outcome.failures) outcome.failures.nginx = 'not installed';
    results.push({ scenario, outcome });
  }

  const elapsed = Math.round((Date.now() - startedAt) / 1000);
  let report = `${machine}. Command: node bench/run.mjs ${process.argv.slice(2).join(' ')} (${elapsed} s)\n\n${renderReport(results, settings)}`;
  if (settings.profile) report += `\n${profileReport(ctx, plan)}\n`;
  process.stdout.write(`\n${report}`);

  const jsonPath = resolve(settings.json ?? join(BENCH_DIR, 'results/latest.json'));
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify({ machine, settings, elapsedSeconds: elapsed, results }, null, 2));
  log(`\nMeasurements written to ${jsonPath}`);
  cleanup();
}

/** Summaries of the CPU profiles of each profiled scenario: master or primary, and each worker. */
function profileReport(ctx, plan) {
  const parts = ['### CPU profiles (self time as a share of busy time)'];
  const roles = new Map([...ctx.primaryPids].map((pid) => [pid, 'master']));
  for (const { scenario, contenders } of plan) {
    for (const name of contenders) parts.push(renderProfiles(`${scenario.name}, ${name}`, readProfiles(join(ctx.profileDir, scenario.name, name), roles)));
  }
  return parts.join('\n\n');
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
