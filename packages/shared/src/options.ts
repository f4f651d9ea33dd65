// The configuration schema: every option with its kind, default, range and documentation.
// Validation (config.ts) and the generated settings reference both read this table, so the
// defaults written here are the only ones in the project.
import { availableParallelism } from 'node:os';

export type OptionKind =
  | 'integer'
  | 'size'
  | 'duration'
  | 'boolean'
  | 'string'
  | 'path'
  | 'enum'
  | 'methods'
  | 'cidrs'
  | 'strings'
  | 'listeners'
  | 'cacheRules'
  | 'object';

/** One option of the schema. `fields` is set for kind 'object'. */
export interface OptionSpec {
  kind: OptionKind;
  /** The default value, or a function for defaults that depend on the machine. */
  default: unknown;
  /** Text of a computed default in the docs, such as "CPU count". */
  defaultText?: string;
  min?: number;
  max?: number;
  values?: readonly string[];
  /** True when null is accepted (an unset path, a disabled feature). */
  nullable?: boolean;
  /** True when false disables the whole object (admin: false). */
  falseDisables?: boolean;
  /** Description of what the option sets, in one or two sentences. */
  doc: string;
  /** Sizing advice for the settings reference: what the option protects against and how to size it. */
  sizing?: string;
  fields?: Readonly<Record<string, OptionSpec>>;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const SECOND = 1000;

/** HTTP methods that the method limit accepts in `allowedMethods`. */
export const KNOWN_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'REPORT',
  'SEARCH',
  'PURGE',
] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const WEBSOCKET_FIELDS: Readonly<Record<string, OptionSpec>> = {
  maxMessageSize: {
    kind: 'size',
    default: 2 * MiB,
    min: 1,
    max: 1 * GiB,
    doc: 'Largest WebSocket message accepted; a bigger one closes the connection with 1009 (message too big).',
  },
  maxFramesPerSecond: {
    kind: 'integer',
    default: 100,
    min: 1,
    max: 1_000_000,
    doc: 'Frames per second a client may send, averaged over a few seconds; a flood closes with 1008 (policy violation).',
  },
  maxBytesPerMinute: {
    kind: 'size',
    default: 8 * MiB,
    min: 1,
    max: 64 * GiB,
    doc: 'Bytes per minute a client may send; more closes with 1008 (policy violation).',
  },
  heartbeatPeriod: {
    kind: 'duration',
    default: 10 * SECOND,
    min: 100,
    max: 3600 * SECOND,
    doc: 'Interval between server pings; 0 is not accepted, since idle peers would never be detected.',
  },
  queuedPingLimit: {
    kind: 'integer',
    default: 3,
    min: 1,
    max: 100,
    doc: 'Pings a peer may leave unanswered before the connection is terminated.',
  },
  closePeriod: {
    kind: 'duration',
    default: 3 * SECOND,
    min: 0,
    max: 600 * SECOND,
    doc: 'Time a peer has to complete the closing handshake before its socket is destroyed.',
  },
  perMessageDeflate: {
    kind: 'boolean',
    default: false,
    doc: 'Enables permessage-deflate compression; off by default because each compressing connection costs memory.',
  },
};

export const STATIC_FIELDS: Readonly<Record<string, OptionSpec>> = {
  index: {
    kind: 'strings',
    default: ['index.html'],
    doc: 'File names tried, in order, when a request names a directory.',
  },
  dotfiles: {
    kind: 'boolean',
    default: false,
    doc: 'Serves files and directories whose name starts with a dot; off, they count as missing (404 unless the application serves them).',
  },
  listings: {
    kind: 'boolean',
    default: false,
    doc: 'Renders an HTML listing for a directory without an index file; off, it is 404.',
  },
  cacheControl: {
    kind: 'cacheRules',
    default: [],
    doc: 'Cache-Control rules as `[{ "pattern": "/assets/**", "value": "public, max-age=31536000, immutable" }]`, first match wins; files that match no rule get `defaultCacheControl`.',
  },
  defaultCacheControl: {
    kind: 'string',
    default: 'public, max-age=0, must-revalidate',
    doc: 'Cache-Control for files that match no rule: caches may store them but must revalidate with the ETag.',
  },
  statCacheTtl: {
    kind: 'duration',
    default: 1 * SECOND,
    min: 0,
    max: 3600 * SECOND,
    doc: 'How long file metadata and cached contents are trusted before the file is checked again on disk.',
  },
  cacheMaxBytes: {
    kind: 'size',
    default: 32 * MiB,
    min: 0,
    max: 64 * GiB,
    doc: 'Total bytes of file contents kept in memory per worker; 0 disables the content cache.',
  },
  cacheMaxEntries: {
    kind: 'integer',
    default: 2000,
    min: 0,
    max: 10_000_000,
    doc: 'Request paths whose metadata (and contents, for small files) are cached per worker; 0 disables the cache.',
  },
  cacheMaxFileSize: {
    kind: 'size',
    default: 64 * KiB,
    min: 0,
    max: 1 * GiB,
    doc: 'Largest file kept in the content cache; bigger files are streamed from disk.',
  },
  maxRanges: {
    kind: 'integer',
    default: 16,
    min: 1,
    max: 1000,
    doc: 'Most ranges served as multipart/byteranges; a request with more gets the full file with 200.',
  },
  compress: {
    kind: 'boolean',
    default: false,
    doc: 'Compresses compressible responses on the fly (brotli or gzip) when no precompressed sibling exists.',
  },
  compressMinSize: {
    kind: 'size',
    default: 1 * KiB,
    min: 0,
    max: 1 * GiB,
    doc: 'Smallest file compressed on the fly.',
  },
};

export const ADMIN_FIELDS: Readonly<Record<string, OptionSpec>> = {
  host: {
    kind: 'string',
    default: '127.0.0.1',
    doc: 'Address of the admin listener; keep it on loopback or a private network.',
  },
  port: {
    kind: 'integer',
    default: 9180,
    min: 0,
    max: 65535,
    doc: 'Port of the admin listener; 0 picks a free port, logged at start.',
  },
  scrapeTimeout: {
    kind: 'duration',
    default: 1 * SECOND,
    min: 10,
    max: 60 * SECOND,
    doc: 'Deadline for each worker to return its metrics; a worker that misses it is left out of that scrape.',
  },
};

/** The top-level options. Key order is the order of the settings reference. */
export const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  listen: {
    kind: 'listeners',
    default: [{ host: '127.0.0.1', port: 8080 }],
    doc: 'Listeners as `[{ "host": "0.0.0.0", "port": 443, "tls": { "cert": "cert.pem", "key": "key.pem" }, "proxyProtocol": false }]`. Each carries HTTP/1.1, HTTP/2 and WebSocket; with `tls`, HTTP/2 is negotiated by ALPN, without it by prior knowledge (h2c).',
  },
  workers: {
    kind: 'integer',
    default: () => availableParallelism(),
    defaultText: 'CPU count',
    min: 1,
    max: 1024,
    doc: 'Worker processes.',
    sizing: 'One per CPU core is usual; more only helps an application that blocks on synchronous work.',
  },
  root: {
    kind: 'path',
    default: null,
    nullable: true,
    doc: 'Directory of static files, served for GET and HEAD where a file exists; everything else goes to `app`.',
  },
  app: {
    kind: 'path',
    default: null,
    nullable: true,
    doc: 'ES module whose default export is a request listener `(req, res)` or `{ request(req, res), websocket(socket, req) }`.',
  },
  admin: {
    kind: 'object',
    default: {},
    falseDisables: true,
    fields: ADMIN_FIELDS,
    doc: 'Admin listener with /metrics, /healthz, /readyz and /status; `false` disables it.',
  },
  pidFile: {
    kind: 'path',
    default: null,
    nullable: true,
    doc: "File that receives the master's PID; `reload`, `stop` and `status` find the master through it.",
  },
  controlSocket: {
    kind: 'path',
    default: null,
    nullable: true,
    doc: 'Unix socket for `reload`, `stop` and `status`; by default the PID file path with `.sock` appended.',
  },
  logLevel: {
    kind: 'enum',
    default: 'info',
    values: LOG_LEVELS,
    doc: 'Lowest level written to the log.',
  },
  accessLog: {
    kind: 'boolean',
    default: false,
    doc: 'Writes one log line per request: method, path, status, bytes, duration, protocol, client address and worker.',
  },
  maxConnections: {
    kind: 'integer',
    default: 1000,
    min: 1,
    max: 10_000_000,
    doc: 'Open client connections for the whole cluster; each routable worker gets an equal share.',
    sizing: 'Set `ulimit -n` to at least maxConnections + 100 so the master and workers never run out of descriptors.',
  },
  connectionsPerIP: {
    kind: 'integer',
    default: 30,
    min: 1,
    max: 10_000_000,
    doc: 'Open connections per client address prefix (see ipv4Prefix, ipv6Prefix), across all workers.',
    sizing: 'Browsers open about 6 connections per host; NATs and offices share one address, so leave headroom. Put proxies in `trustedProxies`.',
  },
  ipv4Prefix: {
    kind: 'integer',
    default: 32,
    min: 8,
    max: 32,
    doc: 'IPv4 addresses that share this many leading bits count as one client for `connectionsPerIP`.',
  },
  ipv6Prefix: {
    kind: 'integer',
    default: 56,
    min: 16,
    max: 128,
    doc: 'IPv6 addresses that share this many leading bits count as one client; /56 is the usual end-site assignment (RFC 6177).',
  },
  trustedProxies: {
    kind: 'cidrs',
    default: [],
    doc: 'CIDR blocks of proxies: exempt from `connectionsPerIP`, and trusted for `X-Forwarded-For`.',
  },
  maxBodySize: {
    kind: 'size',
    default: 128 * KiB,
    min: 0,
    max: 64 * GiB,
    doc: 'Request body bytes; a larger body gets 413. An application can raise it per request.',
    sizing: 'As low as the application allows: maxBodySize x maxConnections is the worst-case body memory.',
  },
  maxHeaderSize: {
    kind: 'size',
    default: 32 * KiB,
    min: 1 * KiB,
    max: 16 * MiB,
    doc: 'Request header bytes; more gets 431 on HTTP/1.1 and a refused stream on HTTP/2.',
  },
  softStreamCap: {
    kind: 'size',
    default: 128 * KiB,
    min: 1 * KiB,
    max: 1 * GiB,
    doc: 'Buffered response bytes per stream before `stream()` waits for the client to read.',
    sizing: 'At most memory / (maxConnections x maxConcurrentStreams x 2).',
  },
  maxConcurrentStreams: {
    kind: 'integer',
    default: 20,
    min: 1,
    max: 2 ** 31 - 1,
    doc: 'HTTP/2 streams open at once per connection, advertised in SETTINGS.',
  },
  maxRequestsPerConnection: {
    kind: 'integer',
    default: 1000,
    min: 1,
    max: 2 ** 31 - 1,
    doc: 'Requests served on one connection before it is closed (HTTP/1.1 `Connection: close`, HTTP/2 GOAWAY).',
  },
  connectionTimeout: {
    kind: 'duration',
    default: 6 * SECOND,
    min: 100,
    max: 3600 * SECOND,
    doc: 'Idle time after which a keep-alive connection is closed.',
  },
  headerTimeout: {
    kind: 'duration',
    default: 10 * SECOND,
    min: 100,
    max: 3600 * SECOND,
    doc: 'Time a client has to send the complete request header; protects against slowloris.',
  },
  bodyTimeout: {
    kind: 'duration',
    default: 30 * SECOND,
    min: 100,
    max: 3600 * SECOND,
    doc: 'Time a client has to send the complete request body; protects against slow POST.',
  },
  writeTimeout: {
    kind: 'duration',
    default: 30 * SECOND,
    min: 100,
    max: 3600 * SECOND,
    doc: 'Time a response may wait for a client that stops reading before the connection is closed; protects against slow read.',
  },
  shutdownTimeout: {
    kind: 'duration',
    default: 3 * SECOND,
    min: 0,
    max: 3600 * SECOND,
    doc: 'Time a draining worker has to finish its requests before the master kills it.',
  },
  startTimeout: {
    kind: 'duration',
    default: 10 * SECOND,
    min: 100,
    max: 3600 * SECOND,
    doc: 'Time a new worker has to load the application and report ready.',
  },
  workerTimeout: {
    kind: 'duration',
    default: 10 * SECOND,
    min: 1000,
    max: 3600 * SECOND,
    doc: 'A worker that sends no heartbeat for this long is killed and replaced.',
  },
  restartDelay: {
    kind: 'duration',
    default: 100,
    min: 0,
    max: 600 * SECOND,
    doc: 'Delay before a crashed worker is replaced; it doubles with each further crash up to `maxRestartDelay`, and resets after a stable period without crashes (one minute, or twice `maxRestartDelay` when that is longer).',
  },
  maxRestartDelay: {
    kind: 'duration',
    default: 30 * SECOND,
    min: 0,
    max: 3600 * SECOND,
    doc: 'Longest delay between restarts of crashing workers, so a crash loop never spins but a fixed application is back within this time.',
  },
  maxRequestsPerWorker: {
    kind: 'integer',
    default: 0,
    min: 0,
    max: 2 ** 53 - 1,
    doc: 'Recycles a worker after about this many requests (with jitter); 0 disables.',
  },
  maxWorkerMemory: {
    kind: 'size',
    default: 0,
    min: 0,
    max: 1024 * GiB,
    doc: 'Recycles a worker whose resident memory (RSS) exceeds this; 0 disables.',
  },
  allowedMethods: {
    kind: 'methods',
    default: ['GET', 'POST', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'DELETE'],
    doc: 'Request methods served; others get 405 with an `Allow` header.',
  },
  maxFramesPerSecond: {
    kind: 'integer',
    default: 60,
    min: 1,
    max: 1_000_000,
    doc: 'Sustained HTTP/2 control frames (PING, SETTINGS, RST_STREAM, empty DATA) per second per connection before it is closed as a flood.',
  },
  websocket: {
    kind: 'object',
    default: {},
    fields: WEBSOCKET_FIELDS,
    doc: 'WebSocket limits.',
  },
  static: {
    kind: 'object',
    default: {},
    fields: STATIC_FIELDS,
    doc: 'Static file serving from `root`.',
  },
  user: {
    kind: 'string',
    default: null,
    nullable: true,
    doc: 'User the workers run as when the master starts as root; the master keeps root only to bind listeners.',
  },
  group: {
    kind: 'string',
    default: null,
    nullable: true,
    doc: "Group the workers run as; defaults to the user's primary group.",
  },
};
