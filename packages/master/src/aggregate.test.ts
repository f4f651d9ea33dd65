import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricFamily } from '@aerys-cluster/shared';
import { WorkerMetricsStore, type MasterFamilies } from './aggregate.js';

const NO_MASTER: MasterFamilies = { cluster: [], process: [], generation: 1 };

function report(requests: number, heap: number): MetricFamily[] {
  return [
    { name: 'requests_total', help: 'r', type: 'counter', values: [{ labels: { protocol: 'http1' }, value: requests }] },
    {
      name: 'duration_seconds',
      help: 'd',
      type: 'histogram',
      values: [
        { metricName: 'duration_seconds_bucket', labels: { le: 0.1 }, value: requests },
        { metricName: 'duration_seconds_bucket', labels: { le: '+Inf' }, value: requests },
        { metricName: 'duration_seconds_count', labels: {}, value: requests },
      ],
    },
    { name: 'heap_bytes', help: 'h', type: 'gauge', values: [{ labels: {}, value: heap }] },
  ];
}

function value(families: MetricFamily[], name: string, metricName?: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const sample = family?.values.find(
    (s) => (s.metricName ?? name) === (metricName ?? name) && Object.entries(labels).every(([k, v]) => String(s.labels[k]) === v),
  );
  return sample?.value;
}

test('counters and histograms sum across workers', () => {
  const store = new WorkerMetricsStore();
  store.update(1, 1, 1, report(300, 10));
  store.update(2, 1, 1, report(700, 20));
  const merged = store.merge(new Set([1, 2]), NO_MASTER);
  assert.equal(value(merged, 'requests_total'), 1000);
  assert.equal(value(merged, 'duration_seconds', 'duration_seconds_count'), 1000);
  assert.equal(value(merged, 'duration_seconds', 'duration_seconds_bucket', { le: '+Inf' }), 1000);
});

test('gauges get a worker label and are never summed', () => {
  const store = new WorkerMetricsStore();
  store.update(1, 1, 1, report(0, 10));
  store.update(2, 3, 1, report(0, 20));
  const heap = store.merge(new Set([1, 2]), NO_MASTER).find((f) => f.name === 'heap_bytes');
  assert.deepEqual(heap?.values, [
    { labels: { worker: '1', generation: '1' }, value: 10 },
    { labels: { worker: '2', generation: '3' }, value: 20 },
  ]);
});

test('exited worker keeps its counts after retirement', () => {
  const store = new WorkerMetricsStore();
  store.update(1, 1, 1, report(300, 10));
  store.update(2, 1, 1, report(700, 20));
  store.exited(1, 1, 0);
  const soon = store.merge(new Set([2]), NO_MASTER, 1000);
  assert.equal(value(soon, 'requests_total'), 1000);
  assert.equal(soon.find((f) => f.name === 'heap_bytes')?.values.length, 1, 'an exited worker has no gauges');

  const later = store.merge(new Set([2]), NO_MASTER, 60_000);
  assert.equal(value(later, 'requests_total'), 1000);
  store.update(1, 1, 5, report(900, 10));
  assert.equal(value(store.merge(new Set([2]), NO_MASTER, 60_000), 'requests_total'), 1000, 'a retired worker cannot report again');
});

test('final report after exit replaces the last one', () => {
  const store = new WorkerMetricsStore();
  store.update(1, 1, 4, report(300, 10));
  store.exited(1, 1, 0);
  store.update(1, 1, 0, report(350, 10));
  store.update(1, 1, 5, report(320, 10));
  assert.equal(value(store.merge(new Set(), NO_MASTER, 60_000), 'requests_total'), 350);
});

test('worker that misses the deadline keeps its counters', () => {
  const store = new WorkerMetricsStore();
  store.update(1, 1, 1, report(300, 10));
  store.update(2, 1, 1, report(700, 20));
  store.update(2, 1, 2, report(710, 20));
  const merged = store.merge(new Set([2]), NO_MASTER);
  assert.equal(value(merged, 'requests_total'), 1010);
  assert.deepEqual(merged.find((f) => f.name === 'heap_bytes')?.values.map((s) => s.labels.worker), ['2']);
});

test('older reply never replaces a newer one', () => {
  const store = new WorkerMetricsStore();
  store.update(1, 1, 7, report(500, 10));
  store.update(1, 1, 6, report(400, 10));
  assert.equal(value(store.merge(new Set([1]), NO_MASTER), 'requests_total'), 500);
});

test('master process metrics merge into worker families', () => {
  const store = new WorkerMetricsStore();
  store.update(1, 1, 1, report(10, 10));
  const merged = store.merge(new Set([1]), { cluster: [], process: report(1, 5), generation: 2 });
  assert.equal(value(merged, 'requests_total'), 11);
  assert.deepEqual(merged.find((f) => f.name === 'heap_bytes')?.values.map((s) => s.labels.worker), ['master', '1']);
  assert.equal(merged.filter((f) => f.name === 'heap_bytes').length, 1, 'one family per name');
});

test('gauges named _total are left out', () => {
  const store = new WorkerMetricsStore();
  store.update(1, 1, 1, [{ name: 'nodejs_active_handles_total', help: 'h', type: 'gauge', values: [{ labels: {}, value: 3 }] }]);
  assert.equal(store.merge(new Set([1]), NO_MASTER).length, 0);
});
