// The worker's metrics and access log. Request metrics sit on the hot path, so they are plain
// typed-array counters indexed by label position: one increment per request, with no label
// hashing. They are turned into prom-client's JSON form only when the master collects them.
// Node's default metrics (event-loop lag, heap, GC) come from a prom-client Registry.
//
// Where the protocol stack calls this module:
//   observeRequest(req, res)      once per request, before the pipeline runs (main.ts)
//   trackConnection(socket, p)    once per connection, when its protocol is known (transports.ts)
//   recordLimitRejection(kind)    on a 413 (body-limit.ts); HTTP/1.1 431s come from slow-clients.ts
//   websocketOpened/Closed()      when a WebSocket opens or its socket closes (websocket.ts)
//   websocketMessage(direction)   per message received (websocket.ts) or sent (metered-websocket.ts)
import { Http2ServerResponse, constants as http2 } from 'node:http2';
import type { Socket } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';
import {
  KNOWN_METHODS,
  isMetricFamily,
  METRIC,
  type HttpProtocol,
  type LimitKind,
  type Logger,
  type MetricFamily,
  type MetricSample,
  type WebSocketDirection,
} from '@aerys-cluster/shared';
import type { HttpRequest, HttpResponse } from './http-types.js';
import { clientCloses, type ClientCloseReason } from './slow-clients.js';

const PROTOCOLS: readonly HttpProtocol[] = ['http1', 'h2'];
/** "aborted" is a response whose connection closed before it was sent completely. */
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other', 'aborted'] as const;
const ABORTED = STATUS_CLASSES.length - 1;
const OTHER_STATUS = ABORTED - 1;
const METHODS: readonly string[] = [...KNOWN_METHODS, 'other'];
const METHOD_INDEX = new Map<string, number>(KNOWN_METHODS.map((method, index) => [method, index]));
const OTHER_METHOD = METHODS.length - 1;

/** Upper bounds in seconds, from 1 ms (a cached static file) to 10 s (a slow application call). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const LIMITS: readonly LimitKind[] = ['body', 'header'];
const DIRECTIONS: readonly WebSocketDirection[] = ['received', 'sent'];

// Counts indexed by [protocol][status class][method], flattened.
const requests = new Float64Array(PROTOCOLS.length * STATUS_CLASSES.length * METHODS.length);
// Non-cumulative bucket counts per protocol; index DURATION_BUCKETS.length is +Inf.
const durationBuckets = PROTOCOLS.map(() => new Float64Array(DURATION_BUCKETS.length + 1));
const durationSum = new Float64Array(PROTOCOLS.length);
const receivedBytes = new Float64Array(PROTOCOLS.length);
const sentBytes = new Float64Array(PROTOCOLS.length);
const connectionsOpen = new Float64Array(PROTOCOLS.length);
const limitRejections = new Float64Array(LIMITS.length);
const websocketMessages = new Float64Array(DIRECTIONS.length);
let websocketsOpen = 0;
let websocketsTotal = 0;

let accessLog: Logger | null = null;
const registry = new Registry();
collectDefaultMetrics({ register: registry });

const START = Symbol('aerys.requestStart');
const CLIENT = Symbol('aerys.clientAddress');
const READ_MARK = Symbol('aerys.bytesReadMark');
const WRITTEN_MARK = Symbol('aerys.bytesWrittenMark');

/** A response with the state its 'close' listener needs, kept on the object so no closure is allocated. */
type TimedResponse = HttpResponse & {
  [START]?: number;
  /** The peer address, read at the start because an HTTP/2 stream loses its socket on close. */
  [CLIENT]?: string | undefined;
};

/** A socket with the byte counts already attributed to earlier requests on it. */
interface MeteredSocket extends Socket {
  [READ_MARK]?: number;
  [WRITTEN_MARK]?: number;
}

/** Turns the access log on (with the logger to write to) or off (null). */
export function setAccessLog(logger: Logger | null): void {
  accessLog = logger;
}

/** Starts measuring one request; its metrics (and access log line) are recorded when the response closes. */
export function observeRequest(req: HttpRequest, res: HttpResponse): void {
  const timed = res as TimedResponse;
  timed[START] = performance.now();
  if (accessLog) timed[CLIENT] = req.socket.remoteAddress;
  res.once('close', responseOnClose);
}

function responseOnClose(this: TimedResponse): void {
  const req = this.req;
  const seconds = (performance.now() - (this[START] ?? 0)) / 1000;
  const protocol = req.httpVersionMajor === 2 ? 1 : 0;
  const completed = isCompleted(this);
  const classIndex = completed ? statusClassIndex(this.statusCode) : ABORTED;
  const methodIndex = METHOD_INDEX.get(req.method ?? '') ?? OTHER_METHOD;
  requests[(protocol * STATUS_CLASSES.length + classIndex) * METHODS.length + methodIndex]!++;
  observeDuration(protocol, seconds);

  const bytes = protocol === 0 ? attributeSocketBytes(req.socket as MeteredSocket, 0) : contentLength(this);
  if (accessLog) writeAccessLine(accessLog, req, this, { bytes, seconds, completed });
}

/**
 * True when the whole response was handed to the connection. An HTTP/2 stream that closed with
 * an error code (the client sent RST_STREAM, the session died) was cut short.
 */
function isCompleted(res: HttpResponse): boolean {
  if (res instanceof Http2ServerResponse) return res.writableEnded && res.stream.rstCode === http2.NGHTTP2_NO_ERROR;
  return res.writableFinished;
}

function statusClassIndex(status: number): number {
  const index = Math.floor(status / 100) - 1;
  return index >= 0 && index < OTHER_STATUS ? index : OTHER_STATUS;
}

function observeDuration(protocol: number, seconds: number): void {
  const buckets = durationBuckets[protocol]!;
  let index = 0;
  while (index < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[index]!) index++;
  buckets[index]!++;
  durationSum[protocol]! += seconds;
}

/**
 * Adds the bytes read and written on an HTTP/1.1 socket since the last mark to the byte counters
 * and returns the bytes written. Responses on one HTTP/1.1 connection are sent one after another,
 * so the written delta at a response's close is that response on the wire (head and body).
 * `bytesWritten` includes bytes still queued in the socket.
 */
function attributeSocketBytes(socket: MeteredSocket, protocol: number): number {
  const read = socket.bytesRead - (socket[READ_MARK] ?? 0);
  const written = socket.bytesWritten - (socket[WRITTEN_MARK] ?? 0);
  socket[READ_MARK] = socket.bytesRead;
  socket[WRITTEN_MARK] = socket.bytesWritten;
  receivedBytes[protocol]! += read;
  sentBytes[protocol]! += written;
  return written;
}

// NOTE: HTTP/2 streams share one socket, so a response's size is taken from its Content-Length
// (0 for a streamed response), and HTTP/2 byte counters grow when the connection closes.
function contentLength(res: HttpResponse): number {
  const length = Number(res.getHeader('content-length'));
  return Number.isFinite(length) ? length : 0;
}

// `client` is the address after PROXY protocol and trusted X-Forwarded-For (client-address.ts),
// or the peer address captured at the start when the pipeline did not set one.
interface Outcome {
  bytes: number;
  seconds: number;
  completed: boolean;
}

function writeAccessLine(logger: Logger, req: HttpRequest, res: TimedResponse, outcome: Outcome): void {
  logger.info(
    {
      method: req.method,
      path: req.url,
      status: outcome.completed ? res.statusCode : 0,
      bytes: outcome.bytes,
      durationMs: Math.round(outcome.seconds * 1e6) / 1000,
      protocol: req.httpVersionMajor === 2 ? 'h2' : 'http1',
      client: req.clientAddress ?? res[CLIENT],
    },
    'request',
  );
}

/** Counts a connection as open until its socket closes; bytes not attributed to a request are added then. */
export function trackConnection(socket: Socket, protocol: HttpProtocol): void {
  const index = protocol === 'h2' ? 1 : 0;
  connectionsOpen[index]!++;
  socket.once('close', index === 0 ? http1SocketOnClose : h2SocketOnClose);
}

function http1SocketOnClose(this: MeteredSocket): void {
  connectionsOpen[0]!--;
  attributeSocketBytes(this, 0);
}

function h2SocketOnClose(this: MeteredSocket): void {
  connectionsOpen[1]!--;
  attributeSocketBytes(this, 1);
}

/** Counts a request rejected for the size of its body (413) or header (431). */
export function recordLimitRejection(kind: LimitKind): void {
  limitRejections[kind === 'body' ? 0 : 1]!++;
}

export function websocketOpened(): void {
  websocketsOpen++;
  websocketsTotal++;
}

export function websocketClosed(): void {
  websocketsOpen--;
}

export function websocketMessage(direction: WebSocketDirection): void {
  websocketMessages[direction === 'received' ? 0 : 1]!++;
}

/** Returns every metric of this worker in prom-client's JSON form, for the master to merge. */
export async function collectMetrics(): Promise<MetricFamily[]> {
  const defaults: unknown[] = await registry.getMetricsAsJSON();
  return [...requestFamilies(), ...connectionFamilies(), ...defaults.filter(isMetricFamily)];
}

function requestFamilies(): MetricFamily[] {
  const counts: MetricSample[] = [];
  for (let p = 0; p < PROTOCOLS.length; p++) {
    for (let s = 0; s < STATUS_CLASSES.length; s++) {
      for (let m = 0; m < METHODS.length; m++) {
        const value = requests[(p * STATUS_CLASSES.length + s) * METHODS.length + m]!;
        if (value > 0) counts.push({ labels: { method: METHODS[m]!, status_class: STATUS_CLASSES[s]!, protocol: PROTOCOLS[p]! }, value });
      }
    }
  }

  return [
    { name: METRIC.httpRequests, help: 'HTTP requests completed or aborted, by method, status class and protocol.', type: 'counter', values: counts },
    { name: METRIC.httpRequestDuration, help: 'Time from request header to the response closing, in seconds.', type: 'histogram', values: durationSamples() },
    { name: METRIC.httpReceivedBytes, help: 'Bytes received on HTTP connections, headers included.', type: 'counter', values: perProtocol(receivedBytes) },
    { name: METRIC.httpSentBytes, help: 'Bytes sent on HTTP connections, headers included.', type: 'counter', values: perProtocol(sentBytes) },
  ];
}

function durationSamples(): MetricSample[] {
  const samples: MetricSample[] = [];
  const name = METRIC.httpRequestDuration;
  for (let p = 0; p < PROTOCOLS.length; p++) {
    const protocol = PROTOCOLS[p]!;
    const buckets = durationBuckets[p]!;
    let cumulative = 0;
    for (let b = 0; b <= DURATION_BUCKETS.length; b++) {
      cumulative += buckets[b]!;
      samples.push({ metricName: `${name}_bucket`, labels: { le: DURATION_BUCKETS[b] ?? '+Inf', protocol }, value: cumulative });
    }
    samples.push({ metricName: `${name}_sum`, labels: { protocol }, value: durationSum[p]! });
    samples.push({ metricName: `${name}_count`, labels: { protocol }, value: cumulative });
  }
  return samples;
}

function perProtocol(values: Float64Array): MetricSample[] {
  return PROTOCOLS.map((protocol, index) => ({ labels: { protocol }, value: values[index]! }));
}

function connectionFamilies(): MetricFamily[] {
  // The HTTP/1.1 guard (slow-clients.ts) responds 431 to oversized headers and counts them there.
  const headerRejections = limitRejections[1]! + clientCloses.header_too_large;
  return [
    { name: METRIC.httpConnectionsOpen, help: 'Client connections open on the worker, by protocol.', type: 'gauge', values: perProtocol(connectionsOpen) },
    {
      name: METRIC.httpLimitRejections,
      help: 'Requests rejected for exceeding maxBodySize (body) or maxHeaderSize (header).',
      type: 'counter',
      values: [
        { labels: { limit: 'body' }, value: limitRejections[0]! },
        { labels: { limit: 'header' }, value: headerRejections },
      ],
    },
    {
      name: METRIC.clientCloses,
      help: 'Client connections the worker closed for a slow or malformed client, by reason.',
      type: 'counter',
      values: (Object.keys(clientCloses) as ClientCloseReason[]).map((reason) => ({ labels: { reason }, value: clientCloses[reason] })),
    },
    { name: METRIC.websocketConnectionsOpen, help: 'WebSocket connections open on the worker.', type: 'gauge', values: [{ labels: {}, value: websocketsOpen }] },
    { name: METRIC.websocketConnections, help: 'WebSocket connections that completed the handshake.', type: 'counter', values: [{ labels: {}, value: websocketsTotal }] },
    {
      name: METRIC.websocketMessages,
      help: 'WebSocket messages, by direction.',
      type: 'counter',
      values: DIRECTIONS.map((direction, index) => ({ labels: { direction }, value: websocketMessages[index]! })),
    },
  ];
}
