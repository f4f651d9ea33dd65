// Raw TCP and HTTP helpers for tests that need control over sockets: source addresses, held
// connections, and whether the server closed a connection without answering.
import { connect, createServer, type Socket } from 'node:net';
import { request, type Agent } from 'node:http';

export interface HeldConnection {
  socket: Socket;
  /** Resolves when the server closes the connection (FIN or reset). */
  closed: Promise<void>;
  /** Bytes the server sent. */
  received(): Buffer;
}

/** Opens a TCP connection from `localAddress` (a loopback address such as 127.0.0.2). */
export function openConnection(port: number, localAddress = '127.0.0.1'): Promise<HeldConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed, received: () => Buffer.concat(chunks) }));
    socket.once('error', reject);
  });
}

/** Sends one HTTP/1.1 request on a held connection and resolves with the raw response head and body. */
export function requestOn(connection: HeldConnection, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const before = connection.received().length;
    const onData = (): void => {
      const text = connection.received().subarray(before).toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd === -1) return;
      const length = /content-length: *(\d+)/i.exec(text.slice(0, headEnd));
      if (length && text.length - headEnd - 4 < Number(length[1])) return;
      connection.socket.off('data', onData);
      resolve(text);
    };
    connection.socket.on('data', onData);
    connection.closed.then(() => reject(new Error('connection closed before a response arrived')));
    connection.socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  });
}

/** Resolves true when the server closes the connection within `ms` without sending a byte. */
export async function closedWithoutResponse(connection: HeldConnection, ms = 2000): Promise<boolean> {
  const timeout = new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms).unref());
  const state = await Promise.race([connection.closed.then(() => 'closed' as const), timeout]);
  return state === 'closed' && connection.received().length === 0;
}

export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  localAddress?: string;
  /** Keep-alive agent to reuse connections; by default each request gets a fresh connection. */
  agent?: Agent;
}

/** Sends one HTTP/1.1 request and buffers the response body. */
export function httpGet(url: string, options: RequestOptions = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false, localAddress: options.localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Sends raw bytes on a new connection and resolves with everything the server sent before closing or `ms`. */
export function rawExchange(port: number, bytes: string | Buffer, ms = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(finish, ms);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', finish);
    socket.on('error', (error) => {
      if (chunks.length > 0) finish();
      else reject(error);
    });
    socket.write(bytes);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
