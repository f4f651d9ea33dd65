// HTTP/2 floods from a raw-frame client against a one-worker cluster over h2c: each flood gets a
// GOAWAY and a closed session, the worker's CPU and memory settle within 5 s, and a well-behaved
// HTTP/2 client on the same worker is served throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { FIXTURES, TestCluster } from './helpers/cluster.js';
import { sleep } from './helpers/net.js';
import { floods, openRawSession } from './helpers/h2-frames.js';

const APP = join(FIXTURES, 'hardening-app.mjs');
const ENHANCE_YOUR_CALM = 0xb;
/** Floods that the frame budget catches; Node's own limits end the others with other codes. */
const BUDGETED = new Set(['rapid reset', 'PING flood', 'SETTINGS flood']);
const FRAMES_PER_FLOOD = 5000;
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident memory in bytes and CPU time in seconds of a process, from /proc. */
function usage(pid: number): { rss: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  // Fields 14 and 15 of /proc/PID/stat (utime, stime) in clock ticks, counted after the command name.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rss: rssKiB * 1024, cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND };
}

/** Returns the CPU share a process used over `ms`, where 1 is one full core. */
async function cpuShare(pid: number, ms: number): Promise<number> {
  const before = usage(pid).cpuSeconds;
  await sleep(ms);
  return (usage(pid).cpuSeconds - before) / (ms / 1000);
}

function get(session: ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    stream.setTimeout(3000, () => stream.close());
    stream.on('response', (headers) => {
      stream.resume();
      stream.on('end', () => resolve(Number(headers[':status'])));
    });
    stream.on('error', reject);
    stream.on('close', () => reject(new Error(`stream closed without a response (code ${stream.rstCode})`)));
    stream.end();
  });
}

test('HTTP/2 floods close only the flooding session', async (t) => {
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1, maxFramesPerSecond: 60 } });
  t.after(() => cluster.stop());
  const [worker] = cluster.workerPids();
  assert.ok(worker, 'no worker reported ready');

  const bystander = connectHttp2(`http://127.0.0.1:${cluster.port}`);
  bystander.on('error', () => undefined);
  t.after(() => bystander.close());
  assert.equal(await get(bystander, '/'), 200, 'the cluster does not serve h2c');
  const baseline = usage(worker);

  for (const [name, build] of Object.entries(floods)) {
    const failures: string[] = [];
    let served = 0;
    let flooding = true;
    const background = (async () => {
      while (flooding) {
        await get(bystander, '/').then(
          () => void served++,
          (error: Error) => void failures.push(error.message),
        );
        await sleep(50);
      }
    })();

    const session = await openRawSession(cluster.port);
    const started = Date.now();
    await session.send(build(FRAMES_PER_FLOOD));
    await Promise.race([session.closed, sleep(5000)]);
    const closedAfter = Date.now() - started;
    session.socket.destroy();

    // Let the worker settle, then measure it while the bystander keeps going.
    let share = Infinity;
    let rss = Infinity;
    const settleDeadline = Date.now() + 5000;
    while (Date.now() < settleDeadline) {
      share = await cpuShare(worker, 500);
      rss = usage(worker).rss;
      if (share < 0.5 && rss < baseline.rss + 64 * 1024 * 1024) break;
    }
    flooding = false;
    await background;

    assert.ok(closedAfter < 5000, `${name}: the session stayed open for 5 s`);
    assert.notEqual(session.goawayCode(), null, `${name}: no GOAWAY before the close`);
    if (BUDGETED.has(name)) assert.equal(session.goawayCode(), ENHANCE_YOUR_CALM, `${name}: GOAWAY code`);
    assert.deepEqual(failures, [], `${name}: the other client failed`);
    assert.ok(served > 0, `${name}: the other client was not served during the flood`);
    assert.ok(share < 0.5, `${name}: worker CPU ${(share * 100).toFixed(0)}% of a core 5 s after the flood`);
    assert.ok(rss < baseline.rss + 64 * 1024 * 1024, `${name}: worker RSS ${rss} bytes, baseline ${baseline.rss}`);
    assert.deepEqual(cluster.workerPids(), [worker], `${name}: the worker was replaced`);
    t.diagnostic(`${name}: closed after ${closedAfter} ms, GOAWAY ${session.goawayCode()}, other client served ${served} requests, CPU ${(share * 100).toFixed(0)}%`);
  }

  await cluster.waitForLog((line) => line.msg === 'client connection closed' && line.reason === 'http2_flood', 2000);
});
