import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateBucket } from './rate-bucket.js';

test('bucket allows a burst up to its capacity', () => {
  const bucket = new RateBucket(3, 1, 0);
  assert.equal(bucket.take(1, 0), true);
  assert.equal(bucket.take(1, 0), true);
  assert.equal(bucket.take(1, 0), true);
  assert.equal(bucket.take(1, 0), false);
});

test('bucket refills at its rate and never above capacity', () => {
  const bucket = new RateBucket(2, 10, 0);
  assert.equal(bucket.take(2, 0), true);
  assert.equal(bucket.take(1, 50), false, '50 ms refill half a token');
  assert.equal(bucket.take(1, 150), true);
  assert.equal(bucket.take(3, 10_000), false, 'capacity caps the refill');
});
