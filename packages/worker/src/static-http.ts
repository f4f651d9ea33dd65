// The HTTP semantics of file responses, as pure functions: validators, conditional requests
// (RFC 9110 section 13), byte ranges (RFC 9110 section 14) and content-coding negotiation.
import type { IncomingHttpHeaders } from 'node:http';

/** The validators of one representation of a file. */
export interface Validators {
  /** A strong entity tag, quoted: `"<size hex>-<mtime in microseconds hex>"`. */
  etag: string;
  /** Modification time in milliseconds since the epoch. */
  mtimeMs: number;
}

/**
 * Builds the strong ETag of a file from its size and modification time. The tag changes whenever
 * a write changes the size or the timestamp. The `suffix` (`br`, `gzip`) distinguishes the
 * representations of one file. Inode numbers are left out so that every server of a farm gives the same tag.
 */
export function makeEtag(size: number, mtimeMs: number, suffix = ''): string {
  const micros = Math.round(mtimeMs * 1000);
  return `"${size.toString(16)}-${micros.toString(16)}${suffix === '' ? '' : `-${suffix}`}"`;
}

/** The result of the preconditions: 'ok' to go on, or the status (304, 412) to send without a body. */
export type PreconditionResult = 'ok' | 304 | 412;

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** Parses an `If-Match` or `If-None-Match` list; '*' stands for any current representation. */
function parseEtagList(value: string): EntityTag[] | '*' {
  if (value.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  const pattern = /\s*(W\/)?("[^"]*")\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < value.length && (match = pattern.exec(value)) !== null) {
    tags.push({ weak: match[1] !== undefined, opaque: match[2] ?? '' });
  }
  return tags;
}

function parseEtag(value: string): EntityTag | null {
  const match = /^\s*(W\/)?("[^"]*")\s*$/.exec(value);
  return match ? { weak: match[1] !== undefined, opaque: match[2] ?? '' } : null;
}

/** Parses an HTTP-date to whole seconds, or returns null when it is not a valid date. */
function parseHttpDateSeconds(value: string | undefined): number | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/**
 * Evaluates the preconditions in the order of RFC 9110 section 13.2.2: If-Match (strong
 * comparison), else If-Unmodified-Since, give 412 when they fail; If-None-Match (weak comparison),
 * else If-Modified-Since, give 304. A current ETag only ever matches itself, since this server
 * sends strong tags; a weak tag in If-None-Match still matches by the weak comparison.
 */
export function evaluatePreconditions(headers: IncomingHttpHeaders, current: Validators): PreconditionResult {
  const modifiedSeconds = Math.floor(current.mtimeMs / 1000);

  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    const tags = parseEtagList(ifMatch);
    const matches = tags === '*' || tags.some((tag) => !tag.weak && tag.opaque === current.etag);
    if (!matches) return 412;
  } else {
    const since = parseHttpDateSeconds(headers['if-unmodified-since']);
    if (since !== null && modifiedSeconds > since) return 412;
  }

  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const tags = parseEtagList(ifNoneMatch);
    if (tags === '*' || tags.some((tag) => tag.opaque === current.etag)) return 304;
    return 'ok';
  }
  const since = parseHttpDateSeconds(headers['if-modified-since']);
  if (since !== null && modifiedSeconds <= since) return 304;
  return 'ok';
}

/**
 * True when a Range header may be honoured under `If-Range` (RFC 9110 section 13.1.5): an entity
 * tag must match strongly, a date must equal the Last-Modified second. Anything else, a weak tag
 * included, means the client's copy is stale and it gets the whole file.
 */
export function ifRangeMatches(value: string | undefined, current: Validators): boolean {
  if (value === undefined) return true;
  const tag = parseEtag(value);
  if (tag) return !tag.weak && tag.opaque === current.etag;
  const seconds = parseHttpDateSeconds(value);
  return seconds !== null && seconds === Math.floor(current.mtimeMs / 1000);
}

/** A byte range with inclusive bounds, as in `Content-Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The meaning of a Range header for a file of `size` bytes. 'ignore' (send the full file) stands
 * for a missing header, another unit or invalid syntax. An inverted range such as `bytes=5-2` is
 * invalid syntax by RFC 9110 section 14.1.1. 'unsatisfiable' (416) means no range overlaps the
 * file. Otherwise the satisfiable ranges follow in request order, clipped to the file.
 */
export type RangeRequest = 'ignore' | 'unsatisfiable' | { ranges: ByteRange[]; requested: number };

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return 'ignore';
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) return 'ignore';

  const specs = (match[1] ?? '').split(',').map((spec) => spec.trim());
  const ranges: ByteRange[] = [];
  let requested = 0;
  for (const spec of specs) {
    if (spec === '') continue;
    const parts = /^(\d*)-(\d*)$/.exec(spec);
    if (!parts) return 'ignore';
    const first = parts[1] ?? '';
    const last = parts[2] ?? '';
    requested++;

    if (first === '') {
      if (last === '') return 'ignore';
      const suffix = Number(last);
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Number(last);
    if (last !== '' && end < start) return 'ignore';
    if (start < size) ranges.push({ start, end: Math.min(end, size - 1) });
  }
  if (requested === 0) return 'ignore';
  if (ranges.length === 0) return 'unsatisfiable';
  return { ranges, requested };
}

/**
 * Sorts and merges overlapping or adjacent ranges, as RFC 9110 section 14.2 allows, so that
 * `bytes=0-,0-,0-` cannot make one request cost many copies of the file.
 */
export function coalesceRanges(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: ByteRange[] = [];
  for (const range of sorted) {
    const previous = merged[merged.length - 1];
    if (previous && range.start <= previous.end + 1) previous.end = Math.max(previous.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

/** Content codings this server can send, in order of preference. */
export type Coding = 'br' | 'gzip';

/**
 * Returns the codings the client accepts with a quality above zero, best first; `br` wins a tie
 * because it compresses text better. A `*` entry stands for every coding not named.
 */
export function acceptedCodings(header: string | undefined): Coding[] {
  if (header === undefined || header === '') return [];
  const quality = new Map<string, number>();
  for (const item of header.split(',')) {
    const [name = '', ...params] = item.trim().toLowerCase().split(';');
    let q = 1;
    for (const param of params) {
      const [key, value] = param.trim().split('=');
      if (key === 'q' && value !== undefined) q = Number(value);
    }
    if (name !== '') quality.set(name.trim(), Number.isFinite(q) ? q : 0);
  }
  const wildcard = quality.get('*') ?? 0;
  const codings: Array<{ coding: Coding; q: number }> = [];
  for (const coding of ['br', 'gzip'] as const) {
    const q = quality.get(coding) ?? (coding === 'gzip' ? (quality.get('x-gzip') ?? wildcard) : wildcard);
    if (q > 0) codings.push({ coding, q });
  }
  return codings.sort((a, b) => b.q - a.q).map((entry) => entry.coding);
}

/** True for media types worth compressing: text, JSON, XML, JavaScript, SVG, WebAssembly and fonts without their own compression. */
export function isCompressible(type: string): boolean {
  const media = type.split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    media.startsWith('text/') ||
    media.endsWith('+json') ||
    media.endsWith('+xml') ||
    /^application\/(javascript|json|xml|wasm|manifest\+json|x-javascript|ld\+json)$/.test(media) ||
    media === 'image/svg+xml' ||
    media === 'image/x-icon' ||
    media === 'font/ttf' ||
    media === 'font/otf'
  );
}
