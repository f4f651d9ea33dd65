// Configuration loading and validation. One pass over the schema in options.ts turns a user's
// object into a frozen, fully defaulted Config, or throws a ConfigError that names the option,
// the value received, the accepted range and the fix.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve, dirname, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isIP } from 'node:net';
import { OPTIONS, KNOWN_METHODS, type OptionSpec } from './options.js';
import { parseCidr } from './address.js';
import { parseDuration, parseSize, SIZE_FORMAT, DURATION_FORMAT, formatSize, formatDuration } from './units.js';
import { closestName } from './suggest.js';

export interface TlsConfig {
  cert: string;
  key: string;
  ca: string | null;
  passphrase: string | null;
}

export interface ListenerConfig {
  host: string;
  port: number;
  tls: TlsConfig | null;
  proxyProtocol: boolean;
}

export interface CacheRule {
  pattern: string;
  value: string;
}

export interface WebSocketConfig {
  maxMessageSize: number;
  maxFramesPerSecond: number;
  maxBytesPerMinute: number;
  heartbeatPeriod: number;
  queuedPingLimit: number;
  closePeriod: number;
  perMessageDeflate: boolean;
}

export interface StaticConfig {
  index: string[];
  dotfiles: boolean;
  listings: boolean;
  cacheControl: CacheRule[];
  defaultCacheControl: string;
  statCacheTtl: number;
  cacheMaxBytes: number;
  cacheMaxEntries: number;
  cacheMaxFileSize: number;
  maxRanges: number;
  compress: boolean;
  compressMinSize: number;
}

export interface AdminConfig {
  host: string;
  port: number;
  scrapeTimeout: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The validated configuration. Sizes are bytes and durations milliseconds. */
export interface Config {
  listen: ListenerConfig[];
  workers: number;
  root: string | null;
  app: string | null;
  admin: AdminConfig | null;
  pidFile: string | null;
  controlSocket: string | null;
  logLevel: LogLevel;
  accessLog: boolean;
  maxConnections: number;
  connectionsPerIP: number;
  ipv4Prefix: number;
  ipv6Prefix: number;
  trustedProxies: string[];
  maxBodySize: number;
  maxHeaderSize: number;
  softStreamCap: number;
  maxConcurrentStreams: number;
  maxRequestsPerConnection: number;
  connectionTimeout: number;
  headerTimeout: number;
  bodyTimeout: number;
  writeTimeout: number;
  shutdownTimeout: number;
  startTimeout: number;
  workerTimeout: number;
  restartDelay: number;
  maxRestartDelay: number;
  maxRequestsPerWorker: number;
  maxWorkerMemory: number;
  allowedMethods: string[];
  maxFramesPerSecond: number;
  websocket: WebSocketConfig;
  static: StaticConfig;
  user: string | null;
  group: string | null;
}

/** Stable error codes for configuration problems; docs/configuration.md explains each. */
export const CONFIG_ERROR_CODES = [
  'AERYS_CONFIG_UNKNOWN_OPTION',
  'AERYS_CONFIG_INVALID_VALUE',
  'AERYS_CONFIG_OUT_OF_RANGE',
  'AERYS_CONFIG_FILE',
] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly option: string;

  constructor(code: ConfigErrorCode, option: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
    this.option = option;
  }
}

/** Exit code of a process that stopped on a configuration error; such a worker is never respawned. */
export const EXIT_CONFIG = 78;

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    // Long values are cut so one error stays one readable line.
    if (text.length > 80) return `${text.slice(0, 77)}...`;
    return text;
  } catch {
    return String(value);
  }
}

function invalid(path: string, value: unknown, expected: string): ConfigError {
  return new ConfigError(
    'AERYS_CONFIG_INVALID_VALUE',
    path,
    `Invalid value for option "${path}": ${show(value)}. Expected ${expected}.`,
  );
}

function formatBound(spec: OptionSpec, bound: number): string {
  if (spec.kind === 'size') return `${bound} (${formatSize(bound)})`;
  if (spec.kind === 'duration') return `${bound} ms (${formatDuration(bound)})`;
  return String(bound);
}

function checkRange(path: string, spec: OptionSpec, raw: unknown, value: number): number {
  const min = spec.min ?? -Infinity;
  const max = spec.max ?? Infinity;
  if (value >= min && value <= max) return value;

  const range = `${formatBound(spec, min)} to ${formatBound(spec, max)}`;
  throw new ConfigError(
    'AERYS_CONFIG_OUT_OF_RANGE',
    path,
    `Option "${path}" is out of range: ${show(raw)}. Accepted range: ${range}. Set a value within it.`,
  );
}

function rejectUnknownKeys(path: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const name = path === '' ? key : `${path}.${key}`;
    const suggestion = closestName(key, known);
    const hint = suggestion ? ` Did you mean "${suggestion}"?` : ` Known options: ${known.join(', ')}.`;
    throw new ConfigError('AERYS_CONFIG_UNKNOWN_OPTION', name, `Unknown option "${name}".${hint}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseString(path: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw invalid(path, value, 'a non-empty string');
  return value;
}

function parseTls(path: string, value: unknown, baseDir: string): TlsConfig | null {
  if (value === undefined || value === null || value === false) return null;
  if (!isPlainObject(value)) throw invalid(path, value, 'an object { "cert": FILE, "key": FILE }');
  rejectUnknownKeys(path, value, ['cert', 'key', 'ca', 'passphrase']);

  const file = (key: string, required: boolean): string | null => {
    const raw = value[key];
    if (raw === undefined || raw === null) {
      if (required) throw invalid(`${path}.${key}`, raw, 'the path of a PEM file');
      return null;
    }
    return resolve(baseDir, parseString(`${path}.${key}`, raw));
  };

  const passphrase = value.passphrase;
  if (passphrase !== undefined && passphrase !== null && typeof passphrase !== 'string') {
    throw invalid(`${path}.passphrase`, '(hidden)', 'a string');
  }
  return {
    cert: file('cert', true) as string,
    key: file('key', true) as string,
    ca: file('ca', false),
    passphrase: typeof passphrase === 'string' ? passphrase : null,
  };
}

function parseListener(path: string, value: unknown, baseDir: string): ListenerConfig {
  if (typeof value === 'string') value = parseListenAddress(path, value);
  if (!isPlainObject(value)) throw invalid(path, value, 'an object { "host": "127.0.0.1", "port": 8080 } or "HOST:PORT"');
  rejectUnknownKeys(path, value, ['host', 'port', 'tls', 'proxyProtocol']);

  const host = value.host ?? '127.0.0.1';
  if (typeof host !== 'string' || (host !== 'localhost' && isIP(host) === 0)) {
    throw invalid(`${path}.host`, host, 'an IPv4 or IPv6 address such as "0.0.0.0", "::" or "127.0.0.1", or "localhost"');
  }
  const port = value.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalid(`${path}.port`, port, 'an integer port from 0 to 65535 (0 picks a free port)');
  }
  const proxyProtocol = value.proxyProtocol ?? false;
  if (typeof proxyProtocol !== 'boolean') throw invalid(`${path}.proxyProtocol`, proxyProtocol, 'true or false');

  return { host, port, tls: parseTls(`${path}.tls`, value.tls, baseDir), proxyProtocol };
}

/** Parses "HOST:PORT", "[v6]:PORT" or ":PORT" as given to --listen. */
export function parseListenAddress(path: string, text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) throw invalid(path, text, 'HOST:PORT, such as 127.0.0.1:8080, [::1]:8080 or :8080');
  const host = match[1] ?? (match[2] === '' || match[2] === undefined ? '0.0.0.0' : match[2]);
  return { host, port: Number(match[3]) };
}

function parseList(path: string, value: unknown, expected: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(path, value, expected);
  return value;
}

function parseByKind(path: string, spec: OptionSpec, value: unknown, baseDir: string): unknown {
  if (value === null && spec.nullable) return null;

  switch (spec.kind) {
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(path, value, 'an integer');
      return checkRange(path, spec, value, value);
    }
    case 'size': {
      const bytes = parseSize(value);
      if (bytes === undefined) throw invalid(path, value, SIZE_FORMAT);
      return checkRange(path, spec, value, bytes);
    }
    case 'duration': {
      const ms = parseDuration(value);
      if (ms === undefined) throw invalid(path, value, DURATION_FORMAT);
      return checkRange(path, spec, value, ms);
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(path, value, 'true or false');
      return value;
    case 'string':
      return parseString(path, value);
    case 'path':
      return resolve(baseDir, parseString(path, value));
    case 'enum': {
      const values = spec.values ?? [];
      if (typeof value !== 'string' || !values.includes(value)) throw invalid(path, value, `one of ${values.join(', ')}`);
      return value;
    }
    case 'strings':
      return parseList(path, value, 'an array of strings').map((item, i) => parseString(`${path}[${i}]`, item));
    case 'methods': {
      const list = parseList(path, value, 'an array of HTTP methods such as ["GET", "HEAD"]');
      if (list.length === 0) throw invalid(path, value, 'at least one HTTP method');
      return list.map((item, i) => {
        const method = typeof item === 'string' ? item.toUpperCase() : item;
        if (typeof method !== 'string' || !(KNOWN_METHODS as readonly string[]).includes(method)) {
          throw invalid(`${path}[${i}]`, item, `one of ${KNOWN_METHODS.join(', ')}`);
        }
        return method;
      });
    }
    case 'cidrs':
      return parseList(path, value, 'an array of CIDR blocks such as ["10.0.0.0/8", "fd00::/8"]').map((item, i) => {
        if (typeof item !== 'string' || !parseCidr(item)) {
          throw invalid(`${path}[${i}]`, item, 'a CIDR block such as "10.0.0.0/8", "192.0.2.7" or "2001:db8::/32"');
        }
        return item;
      });
    case 'listeners': {
      const list = parseList(path, value, 'an array of listeners [{ "host": "127.0.0.1", "port": 8080 }]');
      if (list.length === 0) throw invalid(path, value, 'at least one listener');
      return list.map((item, i) => parseListener(`${path}[${i}]`, item, baseDir));
    }
    case 'cacheRules':
      return parseList(path, value, 'an array of { "pattern": "/assets/**", "value": "public, max-age=3600" }').map(
        (item, i) => {
          const itemPath = `${path}[${i}]`;
          if (!isPlainObject(item)) throw invalid(itemPath, item, 'an object { "pattern": GLOB, "value": HEADER }');
          rejectUnknownKeys(itemPath, item, ['pattern', 'value']);
          return { pattern: parseString(`${itemPath}.pattern`, item.pattern), value: parseString(`${itemPath}.value`, item.value) };
        },
      );
    case 'object':
      if (value === false && spec.falseDisables) return null;
      if (!isPlainObject(value)) throw invalid(path, value, spec.falseDisables ? 'an object or false' : 'an object');
      return parseFields(path, spec.fields ?? {}, value, baseDir);
  }
}

function defaultOf(spec: OptionSpec): unknown {
  return typeof spec.default === 'function' ? (spec.default as () => unknown)() : spec.default;
}

function parseFields(
  path: string,
  fields: Readonly<Record<string, OptionSpec>>,
  input: Record<string, unknown>,
  baseDir: string,
): Record<string, unknown> {
  rejectUnknownKeys(path, input, Object.keys(fields));

  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(fields)) {
    const optionPath = path === '' ? name : `${path}.${name}`;
    const raw = input[name];
    out[name] = raw === undefined ? parseByKind(optionPath, spec, defaultOf(spec), baseDir) : parseByKind(optionPath, spec, raw, baseDir);
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates a configuration object. Relative paths resolve against `baseDir` (the config file's
 * directory, or the working directory for flags). Throws ConfigError on the first problem.
 */
export function validateConfig(input: unknown, baseDir: string = process.cwd()): Readonly<Config> {
  if (!isPlainObject(input)) throw invalid('(configuration)', input, 'an object of options');
  return deepFreeze(parseFields('', OPTIONS, input, baseDir) as unknown as Config);
}

/**
 * Reads a configuration file: `.json`, or an ES module (`.mjs`, `.js`) whose default export is
 * the configuration object. The module is imported with a query string so a reload reads the
 * current file instead of the module cache.
 */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const path = isAbsolute(file) ? file : resolve(file);
  const extension = extname(path);

  if (extension === '.json') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError('AERYS_CONFIG_FILE', 'config', `Cannot read configuration file ${path}: ${(error as Error).message}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isPlainObject(parsed)) throw new Error('the top level must be an object');
      return parsed;
    } catch (error) {
      throw new ConfigError('AERYS_CONFIG_FILE', 'config', `Invalid JSON in configuration file ${path}: ${(error as Error).message}`);
    }
  }

  if (extension === '.mjs' || extension === '.js') {
    let module: { default?: unknown };
    try {
      module = (await import(`${pathToFileURL(path).href}?t=${Date.now()}`)) as { default?: unknown };
    } catch (error) {
      throw new ConfigError('AERYS_CONFIG_FILE', 'config', `Cannot load configuration module ${path}: ${(error as Error).message}`);
    }
    if (!isPlainObject(module.default)) {
      throw new ConfigError('AERYS_CONFIG_FILE', 'config', `Configuration module ${path} must export the configuration object as its default export.`);
    }
    return { ...module.default };
  }

  throw new ConfigError(
    'AERYS_CONFIG_FILE',
    'config',
    `Unsupported configuration file type "${extension || '(none)'}" for ${path}. Use a .json file or an ES module (.mjs, .js).`,
  );
}

/** Loads a configuration file (if any), applies flag overrides on top and validates the result. */
export async function loadConfig(file: string | undefined, overrides: Record<string, unknown> = {}): Promise<Readonly<Config>> {
  const fromFile = file ? await readConfigFile(file) : {};
  const baseDir = file ? dirname(resolve(file)) : process.cwd();

  // Paths given as flags are relative to the working directory, not to the config file.
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const spec = OPTIONS[key];
    merged[key] = spec && spec.kind === 'path' && typeof value === 'string' ? resolve(value) : value;
  }
  const config = validateConfig(merged, baseDir);
  await checkRoot(config.root);
  return config;
}

/** Rejects a `root` that is not a readable directory, so a typo stops startup instead of failing every request. */
async function checkRoot(root: string | null): Promise<void> {
  if (root === null) return;
  const info = await stat(root).catch((error: Error) => error);
  if (info instanceof Error || !info.isDirectory()) {
    const reason = info instanceof Error ? info.message : 'it is not a directory';
    throw new ConfigError('AERYS_CONFIG_INVALID_VALUE', 'root', `Invalid value for option "root": ${JSON.stringify(root)} (${reason}). Expected a directory of static files; create it or fix the path.`);
  }
}
