// Runs one scenario: starts its contenders, checks that aerys-cluster has the scenario's feature,
// warms each contender up, and measures them round by round in a fixed order (A B C A B C ...),
// so slow drift of a shared machine affects every contender alike.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PURPOSES, contenderByName } from './contenders.mjs';
import { wrk } from './load.mjs';
import { BENCH_DIR } from './paths.mjs';
import { waitUntilServing } from './probe.mjs';
import { OPEN_FILES, cpuSpent, processTree, treeCpu, treeRss } from './processes.mjs';
import { measure, scenarioPath } from './scenarios.mjs';

/** How long aerys-cluster may take to serve the scenario's protocol once the cluster is ready. */
const FEATURE_PROBE_MS = 3000;
/** Connections per source address in the idle scenario, under the default connectionsPerIP of 30. */
const IDLE_PER_SOURCE = 25;
/** Interval between reloads in the reload scenario. */
const RELOAD_INTERVAL_MS = 5000;
/** How long one reload (a new generation replacing every worker) may take before it is called failed. */
const RELOAD_TIMEOUT_MS = 30_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the contenders one after the other; a contender that cannot start is recorded, not fatal. */
async function startAll(names, scenario, ctx, log) {
  const instances = new Map();
  const failures = {};
  for (const name of names) {
    try {
      instances.set(name, await contenderByName(name).start(ctx, scenario.purpose, scenarioPath(scenario)));
    } catch (error) {
      failures[name] = `failed to start: ${firstLine(error.message)}`;
      log(`  ${name}: ${failures[name]}`);
    }
  }
  return { instances, failures };
}

async function stopAll(instances) {
  for (const instance of instances.values()) await instance.stop();
}

function firstLine(text) {
  return String(text).split('\n').find((line) => line.trim() !== '') ?? String(text);
}

/**
 * Returns null when aerys-cluster serves the scenario's protocol, or the reason it does not. A
 * build without HTTP/2 or WebSocket support fails here, and the scenario is "not available".
 */
async function probeFeature(scenario, instance) {
  try {
    await waitUntilServing(instance.url, PURPOSES[scenario.purpose].protocol, { timeoutMs: FEATURE_PROBE_MS, child: instance.child });
    return null;
  } catch (error) {
    return firstLine(error.message);
  }
}

/**
 * Starts a scenario's contenders, aerys-cluster first: when it lacks the scenario's feature, the
 * others are not started at all. `instances` is null when the scenario cannot run.
 */
async function prepare(scenario, names, ctx, log) {
  const others = names.filter((name) => name !== 'aerys-cluster');
  const ordered = names.includes('aerys-cluster') ? ['aerys-cluster', ...others] : others;
  if (ordered[0] === 'aerys-cluster') {
    const first = await startAll(['aerys-cluster'], scenario, ctx, log);
    const aerys = first.instances.get('aerys-cluster');
    if (!aerys) return { instances: null, failures: first.failures, unavailable: first.failures['aerys-cluster'] };
    const reason = await probeFeature(scenario, aerys);
    if (reason) {
      await aerys.stop();
      return { instances: null, failures: first.failures, unavailable: `aerys-cluster does not serve ${scenario.purpose} (${reason})` };
    }
    const rest = await startAll(ordered.slice(1), scenario, ctx, log);
    return { instances: new Map([['aerys-cluster', aerys], ...rest.instances]), failures: rest.failures, unavailable: null };
  }
  const { instances, failures } = await startAll(ordered, scenario, ctx, log);
  return { instances, failures, unavailable: null };
}

/** Throughput scenarios: requests or messages per second, latency, errors. */
export async function runThroughput(scenario, names, settings, ctx, log) {
  const { instances, failures, unavailable } = await prepare(scenario, names, ctx, log);
  if (!instances) return { unavailable, failures };

  const rounds = Object.fromEntries([...instances.keys()].map((name) => [name, []]));
  try {
    for (const [name, instance] of instances) {
      if (settings.warmup === 0) break;
      await measure(scenario, instance.url, settings, settings.warmup).catch((error) => log(`  ${name}: warm-up failed: ${firstLine(error.message)}`));
    }
    for (let round = 1; round <= settings.rounds; round++) {
      for (const [name, instance] of instances) {
        const result = await measureWithCpu(scenario, instance, settings);
        rounds[name].push(result);
        log(`  round ${round} ${name}: ${describe(result)}`);
      }
    }
  } finally {
    await stopAll(instances);
  }
  return { unavailable: null, failures, rounds };
}

/**
 * Measures once and adds the CPU time the contender's processes used during it, per request in
 * microseconds: a figure that other load on a shared machine disturbs much less than throughput.
 */
async function measureWithCpu(scenario, instance, settings) {
  const before = treeCpu(instance.roots);
  let result;
  try {
    result = await measure(scenario, instance.url, settings, settings.duration);
  } catch (error) {
    return { failed: firstLine(error.message) };
  }
  const spent = cpuSpent(before, treeCpu(instance.roots), instance.roots);
  const perRequest = (seconds) => (result.requests > 0 ? (seconds * 1e6) / result.requests : null);
  return { ...result, cpuRootUs: perRequest(spent.root), cpuTotalUs: perRequest(spent.total) };
}

function describe(result) {
  if (result.failed) return `failed: ${result.failed}`;
  const latency = result.p50 === null || result.p50 === undefined ? '' : `, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms`;
  const cpu = result.cpuTotalUs === undefined || result.cpuTotalUs === null ? '' : `, CPU ${result.cpuTotalUs.toFixed(1)} us/req (master ${result.cpuRootUs.toFixed(1)})`;
  return `${Math.round(result.rps)}/s${latency}${cpu}, errors ${result.errors}`;
}

/**
 * Idle connections: each round starts every contender afresh, warms it up with one burst of
 * load, reads the resident memory of all its processes, opens the idle connections, and reads
 * the memory again. Kernel socket buffers are not part of any process's RSS, so the figure is
 * the memory the server's own code keeps per connection.
 */
export async function runIdle(scenario, names, settings, ctx, log) {
  const rounds = Object.fromEntries(names.map((name) => [name, []]));
  const failures = {};
  for (let round = 1; round <= settings.idleRounds; round++) {
    for (const name of names) {
      if (failures[name]) continue;
      const { instances, failures: startFailures, unavailable } = await prepare(scenario, [name], ctx, log);
      if (!instances) {
        failures[name] = unavailable ?? startFailures[name];
        continue;
      }
      const instance = instances.get(name);
      try {
        const result = await measureIdle(instance, settings);
        rounds[name].push(result);
        log(`  round ${round} ${name}: ${result.open} open, ${(result.before / 2 ** 20).toFixed(1)} -> ${(result.after / 2 ** 20).toFixed(1)} MiB, ${result.kibPerConnection?.toFixed(2) ?? 'n/a'} KiB per connection, errors ${result.errors}`);
      } catch (error) {
        rounds[name].push({ failed: firstLine(error.message) });
        log(`  round ${round} ${name}: failed: ${firstLine(error.message)}`);
      } finally {
        await instance.stop();
      }
    }
  }
  const available = Object.values(rounds).some((list) => list.length > 0);
  return { unavailable: available ? null : failures['aerys-cluster'] ?? 'no contender started', failures, rounds };
}

async function measureIdle(instance, settings) {
  await wrk({ url: instance.url, connections: settings.connections, duration: 1 });
  // The pause lets warm-up connections close and opened ones settle before memory is read.
  await sleep(settings.settleMs);
  const before = treeRss(instance.roots);

  const { hostname, port, pathname } = new URL(instance.url);
  const args = [join(BENCH_DIR, 'clients/idle.mjs'), hostname, port, pathname, settings.idleConnections, IDLE_PER_SOURCE].map(String);
  const client = spawn('sh', ['-c', `ulimit -n ${OPEN_FILES} 2>/dev/null; exec "$@"`, 'sh', process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: client.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => client.once('exit', resolve));
  const killer = setTimeout(() => client.kill('SIGKILL'), 120_000);
  try {
    const opened = await nextJson(lines, 'the idle client exited before it opened its connections');
    await sleep(settings.settleMs);
    const after = treeRss(instance.roots);
    client.stdin.write('count\n');
    const still = await nextJson(lines, 'the idle client exited before it counted its connections');
    const open = still.open;
    return {
      open,
      before,
      after,
      kibPerConnection: open > 0 ? (after - before) / open / 1024 : null,
      errors: settings.idleConnections - open,
      errorDetail: { failedToOpen: opened.failed, closedByServer: opened.open - still.open },
    };
  } finally {
    client.stdin.end();
    await Promise.race([exited, sleep(10_000)]);
    client.kill('SIGKILL');
    clearTimeout(killer);
  }
}

async function nextJson(lines, message) {
  const { value, done } = await lines.next();
  if (done) throw new Error(message);
  return JSON.parse(value);
}

/** Returns the PIDs of a master's workers (its direct and indirect children). */
function workerPids(instance) {
  return processTree(instance.child.pid).filter((pid) => pid !== instance.child.pid);
}

/**
 * Sends SIGHUP and resolves with true once every worker that was running has been replaced, or
 * with false after RELOAD_TIMEOUT_MS or when the master logs that it cannot reload.
 */
async function reloadOnce(instance) {
  const old = new Set(workerPids(instance));
  let refused = false;
  const onLog = (line) => {
    if (/"level":"(error|fatal)"|reload is not available/.test(line) && /reload/i.test(line)) refused = true;
  };
  instance.logListeners.add(onLog);
  try {
    process.kill(instance.child.pid, 'SIGHUP');
    const deadline = Date.now() + RELOAD_TIMEOUT_MS;
    while (Date.now() < deadline && !refused) {
      await sleep(100);
      const now = workerPids(instance);
      if (now.length > 0 && now.every((pid) => !old.has(pid))) return true;
    }
    return false;
  } finally {
    instance.logListeners.delete(onLog);
  }
}

/**
 * Reload: each round measures keep-alive load without reloads, then the same load while a SIGHUP
 * goes to the master every 5 s. Every wrk error (connect, read, write, timeout, non-2xx) counts;
 * the acceptance is zero.
 */
export async function runReload(scenario, names, settings, ctx, log) {
  const { instances, failures, unavailable } = await prepare(scenario, ['aerys-cluster'], ctx, log);
  if (!instances) return { unavailable, failures };
  const instance = instances.get('aerys-cluster');
  const rounds = { steady: [], reloading: [] };
  try {
    if (!(await reloadOnce(instance))) {
      return { unavailable: 'SIGHUP did not replace the workers (reload not in this build)', failures };
    }
    await wrk({ url: instance.url, connections: settings.connections, duration: Math.max(1, settings.warmup) });
    for (let round = 1; round <= settings.reloadRounds; round++) {
      const steady = await wrk({ url: instance.url, connections: settings.connections, duration: settings.reloadDuration });
      rounds.steady.push(steady);
      log(`  round ${round} steady: ${describe(steady)}`);

      let reloads = 0;
      let completed = 0;
      const pending = [];
      const timer = setInterval(() => {
        reloads++;
        pending.push(reloadOnce(instance).then((done) => (completed += done ? 1 : 0)));
      }, RELOAD_INTERVAL_MS);
      const loaded = await wrk({ url: instance.url, connections: settings.connections, duration: settings.reloadDuration });
      clearInterval(timer);
      await Promise.all(pending);
      const result = { ...loaded, reloads, completed };
      rounds.reloading.push(result);
      log(`  round ${round} reloading: ${describe(result)}, reloads ${completed}/${reloads} completed`);
    }
  } finally {
    await stopAll(instances);
  }
  return { unavailable: null, failures, rounds };
}
