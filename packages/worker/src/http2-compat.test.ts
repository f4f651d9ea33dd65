import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { replacesRequestPrototype } from './http2-compat.js';

test('express-like app is detected', () => {
  const app = Object.assign(() => undefined, { request: Object.create(Object.create(IncomingMessage.prototype) as object) as object });
  assert.equal(replacesRequestPrototype(app), true);
});

test('plain listener is left alone', () => {
  assert.equal(replacesRequestPrototype(() => undefined), false);
  assert.equal(replacesRequestPrototype(Object.assign(() => undefined, { request: {} })), false);
  assert.equal(replacesRequestPrototype({ request: Object.create(IncomingMessage.prototype) as object }), false);
});
