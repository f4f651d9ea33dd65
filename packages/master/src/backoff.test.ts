import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff } from './backoff.js';

test('delay doubles up to the cap', () => {
  const backoff = new RestartBackoff({ restartDelay: 100, maxRestartDelay: 1000 });
  const delays = [];
  for (let i = 0; i < 7; i++) delays.push(backoff.recordCrash(1_000 + i * 500).delayMs);
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
});

test('delay stays at the cap for crashes spaced by the cap', () => {
  const backoff = new RestartBackoff({ restartDelay: 100, maxRestartDelay: 30_000 });
  let now = 1_000;
  let delay = 0;
  for (let i = 0; i < 20; i++) {
    delay = backoff.recordCrash(now).delayMs;
    now += delay + 500;
  }
  assert.equal(delay, 30_000);
});

test('count resets after a stable period', () => {
  const backoff = new RestartBackoff({ restartDelay: 100, maxRestartDelay: 1000 });
  backoff.recordCrash(1_000);
  backoff.recordCrash(2_000);
  assert.equal(backoff.recordCrash(3_000).delayMs, 400);
  assert.equal(backoff.stablePeriod, 60_000);
  assert.deepEqual(backoff.recordCrash(3_000 + 60_000), { delayMs: 100, crashes: 1 });
});

test('stable period covers twice a long cap', () => {
  const backoff = new RestartBackoff({ restartDelay: 1000, maxRestartDelay: 120_000 });
  assert.equal(backoff.stablePeriod, 240_000);
  backoff.recordCrash(0 + 1);
  assert.equal(backoff.recordCrash(200_000).crashes, 2);
});

test('zero delay restarts at once', () => {
  const backoff = new RestartBackoff({ restartDelay: 0, maxRestartDelay: 1000 });
  assert.equal(backoff.recordCrash(1).delayMs, 0);
  assert.equal(backoff.recordCrash(2).delayMs, 0);
});
