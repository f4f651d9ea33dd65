// Request smuggling: framing that two HTTP parsers could read differently. Node's strict parser
// rejects each case; the worker responds with 400 and closes the connection, so the bytes after the
// ambiguous request are never parsed as a second request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, TestCluster } from './helpers/cluster.js';
import { httpGet, rawExchange } from './helpers/net.js';

const APP = join(FIXTURES, 'hardening-app.mjs');
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n';

/** Each case is a request head (and body) followed by a smuggled second request. */
const cases: Array<{ name: string; bytes: string }> = [
  { name: 'Content-Length with Transfer-Encoding', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' },
  { name: 'Transfer-Encoding with Content-Length', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n' },
  { name: 'duplicate Content-Length, different', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n' },
  { name: 'duplicate Content-Length, equal', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n' },
  { name: 'Content-Length list', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0, 40\r\n\r\n' },
  { name: 'negative Content-Length', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n' },
  { name: 'signed Content-Length', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: +0\r\n\r\n' },
  { name: 'space before colon', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length : 40\r\n\r\n' },
  { name: 'obs-fold header', bytes: 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n' },
  { name: 'obs-fold Transfer-Encoding', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n' },
  { name: 'Transfer-Encoding not ending in chunked', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n' },
  { name: 'unknown Transfer-Encoding', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n' },
  { name: 'non-hex chunk size', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n' },
  { name: 'chunk size overflow', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF1\r\nabc\r\n0\r\n\r\n' },
  { name: 'chunk without CRLF after data', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX0\r\n\r\n' },
  { name: 'bare LF in chunked body', bytes: 'POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n' },
  { name: 'NUL in header value', bytes: 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Nul: a\u0000b\r\n\r\n' },
  { name: 'space in header name', bytes: 'GET / HTTP/1.1\r\nHost: localhost\r\nX Bad: a\r\n\r\n' },
  { name: 'HTTP/1.0 with chunked and length', bytes: 'POST /echo HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n' },
];

test('smuggling table gets 400 and a close', async (t) => {
  // One worker, so /seen lists every path the application was given.
  const cluster = await TestCluster.start({ config: { app: APP, workers: 1 } });
  t.after(() => cluster.stop());

  for (const { name, bytes } of cases) {
    const started = Date.now();
    // rawExchange returns at the close, or after 8 s when the server keeps the connection open.
    const output = await rawExchange(cluster.port, bytes + SMUGGLED, 8000);
    const elapsed = Date.now() - started;
    assert.match(output, /^HTTP\/1\.1 400 /, `${name}: expected 400, got ${JSON.stringify(output.slice(0, 80))}`);
    assert.equal(output.match(/HTTP\/1\.1 \d{3} /g)?.length, 1, `${name}: more than one response: ${JSON.stringify(output)}`);
    assert.ok(elapsed < 8000, `${name}: the server kept the connection open`);
  }

  const seen = await httpGet(cluster.url('/seen'));
  const paths = JSON.parse(seen.body.toString()) as string[];
  assert.ok(!paths.includes('/smuggled'), `a smuggled request reached the application: ${paths.join(', ')}`);
  // A chunked body error shows only after the head was parsed, so /echo may have started; a
  // header-level error never reaches the application.
  assert.deepEqual(paths.filter((path) => path !== '/echo'), [], 'a request with invalid headers reached the application');

  const closes = cluster.logs.filter((line) => line.msg === 'client connection closed' && line.reason === 'bad_request');
  assert.ok(closes.length > 0, 'the 400 closes were not counted');
});
