// Drop-in applications: an Express app, a Koa app's callback() and a plain request listener from
// examples/ run unchanged as `app` in a cluster and pass the same request tests over HTTP/1.1 and
// over HTTP/2 with prior knowledge (h2c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { connect, constants } from 'node:http2';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { REPO_ROOT, TestCluster } from './helpers/cluster.js';
import { httpGet, type SimpleResponse } from './helpers/net.js';

const EXAMPLES = ['express', 'koa', 'plain'] as const;

interface RequestOptions {
  method?: string;
  body?: Buffer;
}

/** One client connection to the cluster; every request of a test shares it. */
interface Client {
  readonly protocol: string;
  request(path: string, options?: RequestOptions): Promise<SimpleResponse>;
  close(): void;
}

/** An HTTP/1.1 client whose keep-alive agent reuses one connection for all requests. */
function http1Client(port: number): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    protocol: 'HTTP/1.1',
    request: (path, options = {}) =>
      httpGet(`http://127.0.0.1:${port}${path}`, {
        method: options.method ?? 'GET',
        headers: options.body ? { 'Content-Type': 'application/octet-stream', 'Content-Length': options.body.length } : {},
        body: options.body,
        agent,
      }),
    close: () => agent.destroy(),
  };
}

/** An HTTP/2 client over cleartext with prior knowledge (h2c): one session, one stream a request. */
function h2cClient(port: number): Client {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return {
    protocol: 'HTTP/2',
    request: (path, options = {}) =>
      new Promise((resolve, reject) => {
        // Like browsers and curl, the client sends content-length with a body; Express's body
        // parsers (type-is 2.1 hasBody) treat an HTTP/2 request without it as having no body.
        const stream = session.request({
          [constants.HTTP2_HEADER_METHOD]: options.method ?? 'GET',
          [constants.HTTP2_HEADER_PATH]: path,
          ...(options.body ? { 'content-type': 'application/octet-stream', 'content-length': options.body.length } : {}),
        });
        const chunks: Buffer[] = [];
        let status = 0;
        let headers: SimpleResponse['headers'] = {};
        stream.on('response', (received) => {
          status = Number(received[constants.HTTP2_HEADER_STATUS]);
          headers = received as SimpleResponse['headers'];
        });
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => resolve({ status, headers, body: Buffer.concat(chunks) }));
        stream.on('error', reject);
        stream.end(options.body);
      }),
    close: () => session.close(),
  };
}

const CLIENTS = [http1Client, h2cClient];

/** The request tests every example passes; each example answers the same routes. */
async function checkExample(client: Client, framework: string): Promise<void> {
  const home = await client.request('/');
  assert.equal(home.status, 200, `GET / over ${client.protocol}`);
  assert.match(String(home.headers['content-type']), /^text\/plain/);
  assert.equal(home.body.toString(), `hello from ${framework}\n`);

  const json = await client.request('/json?name=ada');
  assert.equal(json.status, 200);
  assert.match(String(json.headers['content-type']), /^application\/json/);
  const httpVersion = client.protocol === 'HTTP/2' ? '2.0' : '1.1';
  assert.deepEqual(JSON.parse(json.body.toString()), { framework, method: 'GET', name: 'ada', httpVersion });

  const payload = randomBytes(50_000);
  const echo = await client.request('/echo', { method: 'POST', body: payload });
  assert.equal(echo.status, 200);
  assert.ok(echo.body.equals(payload), `echoed ${echo.body.length} of ${payload.length} bytes, content must match`);

  const missing = await client.request('/no-such-route');
  assert.equal(missing.status, 404);

  // The server's method limit runs before the application, whatever framework it uses.
  const trace = await client.request('/', { method: 'TRACE' });
  assert.equal(trace.status, 405);
  assert.ok(String(trace.headers.allow).includes('GET'));
}

for (const example of EXAMPLES) {
  test(`${example} example serves unchanged in a cluster`, async (t) => {
    const app = join(REPO_ROOT, 'examples', example, 'app.mjs');
    const cluster = await TestCluster.start({ config: { app, workers: 2 } });
    t.after(() => cluster.stop());

    for (const connect of CLIENTS) {
      const client = connect(cluster.port);
      try {
        await checkExample(client, example);
      } finally {
        client.close();
      }
    }
    assert.deepEqual(
      cluster.logs.filter((line) => line.level === 'error' || line.level === 'fatal'),
      [],
      'no error was logged',
    );
  });
}
