// Static files from `root`. Only GET and HEAD requests reach the file server. It serves a path
// that names a regular file inside `root`, a directory with an index file, or a listing when
// listings are on. Everything else falls through to the application.
import { realpath } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, createBrotliCompress, createGzip, gzip, type BrotliOptions, type ZlibOptions } from 'node:zlib';
import type { StaticConfig } from '@aerys-cluster/shared';
import { compileGlob } from './glob.js';
import type { HttpRequest, HttpResponse } from './http-types.js';
import { FileCache, closeFd, openVersion, readOpened, type FileEntry, type FileVersion, type OpenedFile, type Representation } from './static-cache.js';
import { acceptedCodings, coalesceRanges, evaluatePreconditions, ifRangeMatches, makeEtag, parseRange, type ByteRange, type Coding, type Validators } from './static-http.js';
import { renderListing } from './static-listing.js';
import { encodePath, hasDotSegment, parseRequestPath, type RequestPath } from './static-path.js';
import { MULTIPART_TYPE, layoutMultipart, sendBuffer, sendCompressed, sendMultipart, sendOpened } from './static-send.js';

export { parseRequestPath } from './static-path.js';

/** The file server's decision for a request: served, passed to the application, or 400. */
export type StaticOutcome = 'served' | 'pass' | 'bad-request';

// Brotli quality 5 and gzip level 6 trade ratio for speed because on-the-fly compression runs on
// the request path. Precompressed siblings are the place for maximum compression.
const BROTLI_OPTIONS: BrotliOptions = { params: { [zlib.BROTLI_PARAM_QUALITY]: 5 } };
const GZIP_OPTIONS: ZlibOptions = { level: 6 };
const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** The body of a response, with the validators of the bytes it will send. */
interface Source {
  version: FileVersion;
  body: Buffer | null;
  opened: OpenedFile | null;
}

function errorCode(error: unknown): string | undefined {
  const code: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'code') : undefined;
  return typeof code === 'string' ? code : undefined;
}

function release(source: Source): void {
  if (source.opened) closeFd(source.opened.fd);
}

export class StaticFiles {
  private cache: FileCache | null = null;
  private root: string | null = null;
  private readonly rules: ReadonlyArray<{ pattern: RegExp; value: string }>;
  private readonly cacheControl = new WeakMap<FileEntry, string>();

  constructor(
    private readonly configuredRoot: string,
    private readonly options: StaticConfig,
  ) {
    this.rules = options.cacheControl.map((rule) => ({ pattern: compileGlob(rule.pattern), value: rule.value }));
  }

  /** Serves the request from disk when a file matches; 'pass' hands it to the application. */
  async serve(req: HttpRequest, res: HttpResponse): Promise<StaticOutcome> {
    const path = parseRequestPath(req.url ?? '/');
    if (path === 'malformed') return 'bad-request';
    if (path === null) return 'pass';
    if (!this.options.dotfiles && hasDotSegment(path.segments)) return 'pass';

    const cache = this.cache ?? (await this.open());
    const found = await cache.lookup(path.key, path.segments);
    if (found.kind === 'missing') return 'pass';
    if (found.kind === 'file') {
      // `/file.txt/` names a directory that does not exist.
      if (path.trailingSlash) return 'pass';
      return this.sendFile(req, res, path.key, found);
    }

    if (!path.trailingSlash) {
      this.redirectToDirectory(req, res, path);
      return 'served';
    }
    for (const name of this.options.index) {
      const key = path.key + name;
      const index = await cache.lookup(key, [...path.segments, name]);
      if (index.kind !== 'file') continue;
      return this.sendFile(req, res, key, index);
    }
    if (!this.options.listings || this.root === null) return 'pass';
    await this.sendListing(req, res, this.root, found.path, path);
    return 'served';
  }

  /** Sends the HTML listing of a directory; listings change with every file, so caches must revalidate. */
  private async sendListing(req: HttpRequest, res: HttpResponse, root: string, directory: string, path: RequestPath): Promise<void> {
    const html = await renderListing(root, directory, encodePath(path.segments, true), this.options.dotfiles);
    const body = Buffer.from(html);
    const headers = { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
    sendBuffer(res, 200, headers, body, req.method === 'HEAD');
  }

  /** Resolves root once; symbolic links in the root path itself are allowed. */
  private async open(): Promise<FileCache> {
    this.root = await realpath(this.configuredRoot);
    this.cache ??= new FileCache(this.root, {
      ttlMs: this.options.statCacheTtl,
      maxEntries: this.options.cacheMaxEntries,
      maxBytes: this.options.cacheMaxBytes,
      maxFileSize: this.options.cacheMaxFileSize,
    });
    return this.cache;
  }

  /** Redirects `/dir` to `/dir/`; the Location is rebuilt from the decoded segments, so `//host/dir` cannot become an off-site redirect. */
  private redirectToDirectory(req: HttpRequest, res: HttpResponse, path: RequestPath): void {
    const target = req.url ?? '/';
    const queryStart = target.indexOf('?');
    const query = queryStart === -1 ? '' : target.slice(queryStart);
    res.writeHead(301, { Location: encodePath(path.segments, true) + query, 'Content-Length': 0 });
    res.end();
  }

  private cacheControlFor(key: string, entry: FileEntry): string {
    let value = this.cacheControl.get(entry);
    if (value === undefined) {
      const urlPath = `/${key}`;
      value = this.rules.find((rule) => rule.pattern.test(urlPath))?.value ?? this.options.defaultCacheControl;
      this.cacheControl.set(entry, value);
    }
    return value;
  }

  /**
   * Picks the content coding: a precompressed sibling the client accepts, else on-the-fly
   * compression when it is on and applies. `liveEligible` is true when the response varies by
   * Accept-Encoding even when this request gets identity bytes.
   */
  private chooseCoding(req: HttpRequest, entry: FileEntry): { precompressed?: Coding; live?: Coding; liveEligible: boolean } {
    const codings = entry.compressible ? acceptedCodings(req.headers['accept-encoding']) : [];
    const precompressed = codings.find((coding) => entry.variants[coding] !== undefined);
    const liveEligible = this.options.compress && entry.compressible && entry.file.size >= this.options.compressMinSize;
    // A Range refers to the identity bytes, so a range request is never compressed on the fly.
    const live = precompressed === undefined && liveEligible && req.headers.range === undefined ? codings[0] : undefined;
    return { precompressed, live, liveEligible };
  }

  /** Sends a file; 'pass' when it vanished since it was last checked. */
  private async sendFile(req: HttpRequest, res: HttpResponse, key: string, entry: FileEntry): Promise<StaticOutcome> {
    const head = req.method === 'HEAD';
    const { precompressed, live, liveEligible } = this.chooseCoding(req, entry);

    const representation: Representation = precompressed ?? 'identity';
    const cached = precompressed ? (entry.variants[precompressed] ?? entry.file) : entry.file;
    const describe = (version: FileVersion): OutgoingHttpHeaders => {
      const headers: OutgoingHttpHeaders = {
        'Accept-Ranges': 'bytes',
        'Cache-Control': this.cacheControlFor(key, entry),
        'Content-Type': entry.type,
        ETag: live ? makeEtag(version.size, version.mtimeMs, `${live}-live`) : version.etag,
        'Last-Modified': version.lastModified,
        'X-Content-Type-Options': 'nosniff',
      };
      if (entry.variants.br || entry.variants.gzip || liveEligible) headers.Vary = 'Accept-Encoding';
      if (precompressed) headers['Content-Encoding'] = precompressed;
      return headers;
    };

    // Preconditions run on the cached metadata first, so a 304 costs no system call.
    let headers = describe(cached);
    let validators = { etag: String(headers.ETag), mtimeMs: cached.mtimeMs };
    let precondition = evaluatePreconditions(req.headers, validators);
    if (precondition !== 'ok') {
      this.sendPreconditionResult(res, precondition, headers, head);
      return 'served';
    }

    let source: Source;
    try {
      source = await this.loadSource(key, entry, representation, cached, live !== undefined);
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES') throw error;
      this.cache?.invalidate(key);
      if (code !== 'EACCES') return 'pass';
      // Like nginx: the file exists but the worker may not read it.
      const body = Buffer.from('403 Forbidden\n');
      sendBuffer(res, 403, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'X-Content-Type-Options': 'nosniff' }, body, head);
      return 'served';
    }
    if (source.version !== cached) {
      // The file changed on disk since it was last checked, so the headers describe the bytes sent now.
      headers = describe(source.version);
      validators = { etag: String(headers.ETag), mtimeMs: source.version.mtimeMs };
      precondition = evaluatePreconditions(req.headers, validators);
      if (precondition !== 'ok') {
        release(source);
        this.sendPreconditionResult(res, precondition, headers, head);
        return 'served';
      }
    }

    if (live) {
      headers['Content-Encoding'] = live;
      await this.sendLive(res, key, entry, live, headers, source, head);
      return 'served';
    }

    this.sendIdentity(req, res, entry.type, headers, validators, source, head);
    return 'served';
  }

  /** Sends identity bytes: the whole file, one range, or multipart/byteranges. */
  private sendIdentity(req: HttpRequest, res: HttpResponse, type: string, headers: OutgoingHttpHeaders, validators: Validators, source: Source, head: boolean): void {
    const size = source.version.size;
    const ifRange = req.headers['if-range'];
    const rangeAllowed = ifRangeMatches(typeof ifRange === 'string' ? ifRange : undefined, validators);
    const range = rangeAllowed ? parseRange(req.headers.range, size) : 'ignore';
    if (range === 'unsatisfiable') {
      release(source);
      const refusal: OutgoingHttpHeaders = { 'Accept-Ranges': 'bytes', 'Content-Range': `bytes */${size}`, 'Content-Length': 0 };
      if (headers.Vary !== undefined) refusal.Vary = headers.Vary;
      sendBuffer(res, 416, refusal, null, true);
      return;
    }
    if (range === 'ignore' || range.requested > this.options.maxRanges) {
      headers['Content-Length'] = size;
      this.sendWhole(res, 200, headers, source, null, head);
      return;
    }

    const ranges = coalesceRanges(range.ranges);
    const [single] = ranges;
    if (ranges.length === 1 && single) {
      headers['Content-Range'] = `bytes ${single.start}-${single.end}/${size}`;
      headers['Content-Length'] = single.end - single.start + 1;
      this.sendWhole(res, 206, headers, source, single, head);
      return;
    }
    const layout = layoutMultipart(ranges, type, size);
    headers['Content-Type'] = MULTIPART_TYPE;
    headers['Content-Length'] = layout.length;
    if (source.opened) sendMultipart(res, headers, ranges, layout, source.opened, head);
    else sendMultipart(res, headers, ranges, layout, source.body ?? Buffer.alloc(0), head);
  }

  /**
   * Returns the body from the content cache, reads and caches a small file, or opens a large one
   * for streaming. A file that changed since it was last checked is sent as it is now, with
   * validators from the opened descriptor, and its cache entry is made stale.
   */
  private async loadSource(key: string, entry: FileEntry, representation: Representation, version: FileVersion, wantBuffer: boolean): Promise<Source> {
    const cached = entry.contents.get(representation);
    if (cached) return { version, body: cached, opened: null };

    const opened = await openVersion(version, representation === 'identity' ? '' : representation);
    const cache = this.cache as FileCache;
    if (opened.version !== version) {
      cache.invalidate(key);
      return { version: opened.version, body: null, opened };
    }
    if (!cache.canHold(version.size) && !(wantBuffer && version.size <= this.options.cacheMaxFileSize)) {
      return { version, body: null, opened };
    }

    let body: Buffer | null;
    try {
      body = await readOpened(opened);
    } finally {
      closeFd(opened.fd);
    }
    if (body === null) {
      cache.invalidate(key);
      throw new Error(`file ${version.path} shrank while it was read`);
    }
    cache.keepContent(key, entry, representation, body);
    return { version, body, opened: null };
  }

  private sendWhole(res: HttpResponse, status: number, headers: OutgoingHttpHeaders, source: Source, range: ByteRange | null, head: boolean): void {
    if (source.opened) {
      sendOpened(res, status, headers, source.opened, range, head);
      return;
    }
    const body = source.body ?? Buffer.alloc(0);
    sendBuffer(res, status, headers, range ? body.subarray(range.start, range.end + 1) : body, head);
  }

  /** Compresses on the fly: small files once into the cache, large files as a stream with chunked framing. */
  private async sendLive(res: HttpResponse, key: string, entry: FileEntry, coding: Coding, headers: OutgoingHttpHeaders, source: Source, head: boolean): Promise<void> {
    if (source.opened) {
      const encoder = coding === 'br' ? createBrotliCompress(BROTLI_OPTIONS) : createGzip(GZIP_OPTIONS);
      sendCompressed(res, headers, source.opened, encoder, head);
      return;
    }
    let compressed = entry.contents.get(coding);
    if (!compressed) {
      const identity = source.body ?? Buffer.alloc(0);
      compressed = coding === 'br' ? await brotliAsync(identity, BROTLI_OPTIONS) : await gzipAsync(identity, GZIP_OPTIONS);
      if (this.cache?.canHold(compressed.length)) this.cache.keepContent(key, entry, coding, compressed);
    }
    headers['Content-Length'] = compressed.length;
    sendBuffer(res, 200, headers, compressed, head);
  }

  /** 304 carries the headers a 200 would have for caches to update (RFC 9110 section 15.4.5); 412 carries none of them. */
  private sendPreconditionResult(res: HttpResponse, status: 304 | 412, headers: OutgoingHttpHeaders, head: boolean): void {
    if (status === 304) {
      const { ETag, 'Last-Modified': lastModified, 'Cache-Control': cacheControl, Vary } = headers;
      const notModified: OutgoingHttpHeaders = { ETag, 'Last-Modified': lastModified, 'Cache-Control': cacheControl };
      if (Vary !== undefined) notModified.Vary = Vary;
      sendBuffer(res, 304, notModified, null, true);
      return;
    }
    const body = Buffer.from('412 Precondition Failed\n');
    sendBuffer(res, 412, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'X-Content-Type-Options': 'nosniff' }, body, head);
  }
}
