import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectHttp2, createServer, type Http2Session } from 'node:http2';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { guardHttp2Session, http2FloodOptions } from './h2-flood.js';

const config = { maxFramesPerSecond: 60, maxConcurrentStreams: 20, headerTimeout: 10_000, bodyTimeout: 30_000 };

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

async function guardedServer(): Promise<{ port: number; close: () => void }> {
  const server = createServer(http2FloodOptions(config), (_req, res) => res.end('ok'));
  server.on('session', (session: Http2Session) => {
    guardHttp2Session(session, config);
    session.on('error', () => session.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** Sends the preface and `frames`, and resolves with the GOAWAY code once the server closes. */
function flood(port: number, frames: Buffer[]): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.once('close', () => {
      clearTimeout(timer);
      for (let offset = 0; offset + 9 <= received.length; offset += 9 + received.readUIntBE(offset, 3)) {
        if (received[offset + 3] === 0x7) return resolve(received.readUInt32BE(offset + 13));
      }
      resolve(null);
    });
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(0x4, 0, 0), ...frames]));
  });
}

test('PING flood gets ENHANCE_YOUR_CALM', async (t) => {
  const server = await guardedServer();
  t.after(server.close);
  const pings = Array.from({ length: 500 }, () => frame(0x6, 0, 0, Buffer.alloc(8)));
  assert.equal(await flood(server.port, pings), 0xb);
});

test('rapid reset gets ENHANCE_YOUR_CALM', async (t) => {
  const server = await guardedServer();
  t.after(server.close);
  const headers = Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x01, 9]), Buffer.from('localhost')]);
  const resets = Array.from({ length: 500 }, (_, i) => Buffer.concat([frame(0x1, 0x5, 1 + 2 * i, headers), frame(0x3, 0, 1 + 2 * i, Buffer.from([0, 0, 0, 8]))]));
  assert.equal(await flood(server.port, resets), 0xb);
});

test('normal client stays within budget', async (t) => {
  const server = await guardedServer();
  t.after(server.close);
  const client = connectHttp2(`http://127.0.0.1:${server.port}`);
  t.after(() => client.close());
  for (let i = 0; i < 200; i++) {
    const status = await new Promise<number>((resolve, reject) => {
      const stream = client.request({ ':path': '/' });
      stream.on('response', (headers) => resolve(Number(headers[':status'])));
      stream.on('error', reject);
      stream.resume();
      stream.end();
    });
    assert.equal(status, 200);
  }
  await new Promise<void>((resolve) => client.ping(() => resolve()));
  assert.equal(client.closed, false);
});
