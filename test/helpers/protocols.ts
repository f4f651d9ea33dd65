// Clients for the protocol tests: one request function per transport (HTTP/1.1, HTTP/1.1 over
// TLS, h2c, h2 over TLS) with the same result shape, so one table of cases runs over all four.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './cluster.js';

export const DEV_CERT = join(REPO_ROOT, 'examples/demo/tls/localhost-cert.pem');
export const DEV_KEY = join(REPO_ROOT, 'examples/demo/tls/localhost-key.pem');
/** The development certificate doubles as its own CA, so clients verify it instead of skipping checks. */
export const DEV_CA = readFileSync(DEV_CERT);

export interface ExchangeOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** "1.1" or "2.0" as the client saw it. */
  httpVersion: string;
}

export type Transport = 'http1' | 'https1' | 'h2c' | 'h2';

/** Sends one request on a fresh connection over `transport`. */
export function exchange(transport: Transport, port: number, path: string, options: ExchangeOptions = {}): Promise<Exchange> {
  if (transport === 'h2c' || transport === 'h2') return exchangeHttp2(transport === 'h2' ? `https://localhost:${port}` : `http://127.0.0.1:${port}`, path, options);
  return exchangeHttp1(transport === 'https1', port, path, options);
}

function exchangeHttp1(tls: boolean, port: number, path: string, options: ExchangeOptions): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const common = { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false as const };
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), httpVersion: res.httpVersion }));
      res.on('error', reject);
    };
    const req = tls
      ? // node:https sends no ALPN extension, so this also covers clients without ALPN.
        httpsRequest({ ...common, ca: DEV_CA, servername: 'localhost' }, onResponse)
      : httpRequest(common, onResponse);
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens an HTTP/2 session (h2c for http://, ALPN h2 for https://) that trusts the development certificate. */
export function openSession(authority: string): ClientHttp2Session {
  // The larger send limit lets tests send header blocks the server must refuse.
  const session = connect(authority, { ca: DEV_CA, servername: 'localhost', maxSendHeaderBlockLength: 1024 * 1024 });
  session.on('error', () => undefined);
  return session;
}

async function exchangeHttp2(authority: string, path: string, options: ExchangeOptions): Promise<Exchange> {
  const session = openSession(authority);
  try {
    return await requestOnSession(session, path, options);
  } finally {
    session.close();
  }
}

/** Sends one request on an open HTTP/2 session; rejects with the stream's error, such as a reset. */
export function requestOnSession(session: ClientHttp2Session, path: string, options: ExchangeOptions = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': options.method ?? 'GET', ':path': path, ...options.headers });
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (received) => {
      headers = received;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks), httpVersion: '2.0' }));
    stream.on('error', (error: Error) => reject(Object.assign(error, { rstCode: stream.rstCode })));
    stream.on('close', () => {
      if (stream.rstCode !== constants.NGHTTP2_NO_ERROR && headers[':status'] === undefined) {
        reject(Object.assign(new Error(`stream reset with code ${stream.rstCode}`), { rstCode: stream.rstCode }));
      }
    });
    stream.end(options.body);
  });
}
