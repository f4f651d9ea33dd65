import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricFamily } from '@aerys-cluster/shared';
import { negotiateFormat, writeExposition } from './exposition.js';

const families: MetricFamily[] = [
  { name: 'aerys_x_total', help: 'Counts "x"\\n.', type: 'counter', values: [{ labels: { reason: 'a"b\\c\nd' }, value: 2 }] },
  { name: 'aerys_g', help: 'g', type: 'gauge', values: [{ labels: {}, value: NaN }] },
  {
    name: 'aerys_h_seconds',
    help: 'h',
    type: 'histogram',
    values: [
      { metricName: 'aerys_h_seconds_bucket', labels: { le: 0.5 }, value: 1 },
      { metricName: 'aerys_h_seconds_bucket', labels: { le: '+Inf' }, value: 2 },
      { metricName: 'aerys_h_seconds_sum', labels: {}, value: 0.75 },
      { metricName: 'aerys_h_seconds_count', labels: {}, value: 2 },
    ],
  },
];

test('prometheus text format escapes labels and help', () => {
  const text = writeExposition(families, 'prometheus');
  assert.match(text, /^# HELP aerys_x_total Counts "x"\\\\n\.$/m);
  assert.match(text, /^# TYPE aerys_x_total counter$/m);
  assert.match(text, /^aerys_x_total\{reason="a\\"b\\\\c\\nd"\} 2$/m);
  assert.match(text, /^aerys_g NaN$/m);
  assert.match(text, /^aerys_h_seconds_bucket\{le="\+Inf"\} 2$/m);
  assert.ok(!text.includes('# EOF'));
});

test('openmetrics names counters without _total', () => {
  const text = writeExposition(families, 'openmetrics');
  assert.match(text, /^# TYPE aerys_x counter$/m);
  assert.match(text, /^# HELP aerys_x Counts \\"x\\"\\\\n\.$/m);
  assert.match(text, /^aerys_x_total\{reason="a\\"b\\\\c\\nd"\} 2$/m);
  assert.match(text, /^aerys_h_seconds_count 2$/m);
  assert.ok(text.endsWith('# EOF\n'));
});

test('accept header selects the format', () => {
  assert.equal(negotiateFormat(undefined), 'prometheus');
  assert.equal(negotiateFormat('text/plain;version=0.0.4'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;version=1.0.0,text/plain;q=0.5'), 'openmetrics');
});
