// The file server behind Node's HTTP/2 compatibility API, on a real h2c socket. File bodies go
// through the response API, never the stream's file-descriptor path, whose native file pipe
// crashes the process on Node 20 when the client resets the stream mid-read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '@aerys-cluster/shared';
import { StaticFiles } from './static.js';

const root = mkdtempSync(join(tmpdir(), 'aerys-static-h2-'));
const big = randomBytes(300_000);
writeFileSync(join(root, 'big.bin'), big);
writeFileSync(join(root, 'small.txt'), 'small file');

let server: Http2Server;
/** Calls of respondWithFD, counted by a wrapper on each stream; must stay at zero. */
let descriptorResponses = 0;
let session: ClientHttp2Session;

before(async () => {
  const config = validateConfig({ root, static: { statCacheTtl: '1s' } });
  const files = new StaticFiles(root, config.static);
  server = createServer((req, res) => {
    // A header set before the file server runs, as a pipeline step would.
    res.setHeader('x-pipeline', 'kept');
    const respondWithFD = res.stream.respondWithFD.bind(res.stream);
    res.stream.respondWithFD = (...args: Parameters<typeof respondWithFD>) => {
      descriptorResponses++;
      respondWithFD(...args);
    };
    void files.serve(req, res).then((outcome) => {
      if (outcome !== 'served') {
        res.writeHead(outcome === 'pass' ? 404 : 400);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  session = connect(`http://127.0.0.1:${port}`);
});

after(() => {
  session.close();
  server.close();
});

function fetch(headers: OutgoingHttpHeaders): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    const chunks: Buffer[] = [];
    let responseHeaders: IncomingHttpHeaders = {};
    stream.on('response', (received) => (responseHeaders = received));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ headers: responseHeaders, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.end();
  });
}

test('whole file over the response API', async () => {
  const response = await fetch({ ':path': '/big.bin' });
  assert.equal(descriptorResponses, 0, 'respondWithFD is never used');
  assert.equal(response.headers[':status'], 200);
  assert.equal(response.headers['content-length'], String(big.length));
  assert.equal(response.headers['accept-ranges'], 'bytes');
  assert.match(String(response.headers.etag), /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.equal(response.headers['x-pipeline'], 'kept');
  assert.ok(response.body.equals(big));
});

test('single range over the response API', async () => {
  const response = await fetch({ ':path': '/big.bin', range: 'bytes=1000-1999' });
  assert.equal(descriptorResponses, 0, 'respondWithFD is never used');
  assert.equal(response.headers[':status'], 206);
  assert.equal(response.headers['content-range'], `bytes 1000-1999/${big.length}`);
  assert.ok(response.body.equals(big.subarray(1000, 2000)));
});

test('multiple ranges and cached files over HTTP/2', async () => {
  const multipart = await fetch({ ':path': '/big.bin', range: 'bytes=0-0,-1' });
  assert.equal(multipart.headers[':status'], 206);
  assert.match(String(multipart.headers['content-type']), /^multipart\/byteranges/);
  assert.equal(multipart.headers['content-length'], String(multipart.body.length));

  const small = await fetch({ ':path': '/small.txt' });
  assert.equal(small.body.toString(), 'small file');
  const etag = String(small.headers.etag);
  assert.equal((await fetch({ ':path': '/small.txt', 'if-none-match': etag })).headers[':status'], 304);
});

test('HEAD over HTTP/2 sends headers only', async () => {
  const response = await fetch({ ':path': '/big.bin', ':method': 'HEAD' });
  assert.equal(response.headers[':status'], 200);
  assert.equal(response.headers['content-length'], String(big.length));
  assert.equal(response.body.length, 0);
});
