// The per-worker cache of file metadata and small file contents. A request whose entry was
// checked within `statCacheTtl` costs one Map lookup and no system call. A stale entry is
// resolved again (realpath, stat, the precompressed siblings), and it keeps its cached contents
// only when size, modification time and inode are unchanged.
import { fstat, open, close, read, realpath, stat, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { contentType } from 'mime-types';
import { isCompressible, makeEtag, type Coding } from './static-http.js';
import { isInside } from './static-path.js';

const realpathAsync = promisify(realpath);
const statAsync = promisify(stat);
const openAsync = promisify(open);
const fstatAsync = promisify(fstat);
const closeAsync = promisify(close);
const readAsync = promisify(read);

/** One representation of a file on disk: the file itself or a `.br` or `.gz` sibling. */
export interface FileVersion {
  /** Canonical path (symbolic links resolved), always inside root. */
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  etag: string;
  lastModified: string;
}

/** The name of a representation: the file as it is, or one of its precompressed siblings. */
export type Representation = 'identity' | Coding;

export interface FileEntry {
  kind: 'file';
  file: FileVersion;
  /** Content-Type from the requested name, with `charset=utf-8` for text types. */
  type: string;
  compressible: boolean;
  /** Precompressed siblings (`name.br`, `name.gz`) that are regular files inside root and not older than the file. */
  variants: Partial<Record<Coding, FileVersion>>;
  /** Cached bodies by representation; on-the-fly compressed bodies are stored under their coding with no variant. */
  contents: Map<Representation, Buffer>;
}

export interface DirectoryEntry {
  kind: 'directory';
  path: string;
}

export interface MissingEntry {
  kind: 'missing';
}

export type Lookup = FileEntry | DirectoryEntry | MissingEntry;

const MISSING: MissingEntry = { kind: 'missing' };

const SIBLINGS: ReadonlyArray<{ coding: Coding; extension: string }> = [
  { coding: 'br', extension: '.br' },
  { coding: 'gzip', extension: '.gz' },
];

export interface CacheLimits {
  /** Milliseconds an entry is trusted before it is resolved again. */
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
  maxFileSize: number;
}

interface CacheRecord {
  value: Lookup;
  checkedAt: number;
  bytes: number;
}

export function versionOf(path: string, stats: Stats, suffix = ''): FileVersion {
  return {
    path,
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    ino: stats.ino,
    etag: makeEtag(stats.size, stats.mtimeMs, suffix),
    lastModified: new Date(stats.mtimeMs).toUTCString(),
  };
}

function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/**
 * Metadata and contents keyed by request path. The Map's insertion order is the eviction order,
 * and an entry moves to the end whenever it is resolved again. Eviction therefore removes the
 * entries least recently revalidated: least recently used at `ttlMs` granularity, without
 * touching the Map on every hit.
 */
export class FileCache {
  private readonly records = new Map<string, CacheRecord>();
  private readonly pending = new Map<string, Promise<Lookup>>();
  private bytes = 0;

  constructor(
    private readonly root: string,
    private readonly limits: CacheLimits,
  ) {}

  /** Total bytes of cached contents. */
  get size(): number {
    return this.bytes;
  }

  /** Returns the entry for `key` at once when it is fresh, else a promise of the resolved entry. */
  lookup(key: string, segments: readonly string[]): Lookup | Promise<Lookup> {
    const record = this.records.get(key);
    if (record && Date.now() - record.checkedAt < this.limits.ttlMs) return record.value;

    const running = this.pending.get(key);
    if (running) return running;
    const promise = this.resolve(segments).then(
      (value) => {
        this.pending.delete(key);
        this.store(key, value);
        return value;
      },
      (error: unknown) => {
        this.pending.delete(key);
        throw error;
      },
    );
    this.pending.set(key, promise);
    return promise;
  }

  /** Makes the entry stale, so the next request resolves it again. */
  invalidate(key: string): void {
    const record = this.records.get(key);
    if (record) record.checkedAt = Number.NEGATIVE_INFINITY;
  }

  /** True when a representation of `size` bytes may be kept in memory. */
  canHold(size: number): boolean {
    return this.limits.maxBytes > 0 && this.limits.maxEntries > 0 && size <= this.limits.maxFileSize && size <= this.limits.maxBytes;
  }

  /** Stores a body for a file entry that is still cached, and evicts contents beyond the byte limit. */
  keepContent(key: string, entry: FileEntry, representation: Representation, body: Buffer): void {
    const record = this.records.get(key);
    if (!record || record.value !== entry || entry.contents.has(representation)) return;
    entry.contents.set(representation, body);
    record.bytes += body.length;
    this.bytes += body.length;
    this.evictBytes();
  }

  private store(key: string, value: Lookup): void {
    const previous = this.records.get(key);
    if (previous) {
      this.records.delete(key);
      this.bytes -= previous.bytes;
    }
    if (this.limits.maxEntries === 0) return;

    let bytes = 0;
    if (previous && previous.value.kind === 'file' && value.kind === 'file' && sameVersion(previous.value.file, value.file)) {
      // Unchanged file: keep the bodies whose representation is unchanged too.
      for (const [representation, body] of previous.value.contents) {
        const before = representation === 'identity' ? undefined : previous.value.variants[representation];
        const now = representation === 'identity' ? undefined : value.variants[representation];
        if (before === undefined ? now === undefined : now !== undefined && sameVersion(before, now)) {
          value.contents.set(representation, body);
          bytes += body.length;
        }
      }
    }
    this.records.set(key, { value, checkedAt: Date.now(), bytes });
    this.bytes += bytes;

    while (this.records.size > this.limits.maxEntries) {
      const oldest = this.records.keys().next();
      if (oldest.done) break;
      this.bytes -= this.records.get(oldest.value)?.bytes ?? 0;
      this.records.delete(oldest.value);
    }
    this.evictBytes();
  }

  private evictBytes(): void {
    if (this.bytes <= this.limits.maxBytes) return;
    for (const record of this.records.values()) {
      if (record.bytes === 0 || record.value.kind !== 'file') continue;
      record.value.contents.clear();
      this.bytes -= record.bytes;
      record.bytes = 0;
      if (this.bytes <= this.limits.maxBytes) return;
    }
  }

  private async resolve(segments: readonly string[]): Promise<Lookup> {
    const real = await this.realInside(join(this.root, ...segments));
    if (real === null) return MISSING;
    const stats = await statAsync(real).catch(() => null);
    if (!stats) return MISSING;
    if (stats.isDirectory()) return { kind: 'directory', path: real };
    if (!stats.isFile()) return MISSING;

    const name = segments[segments.length - 1] ?? basename(real);
    const type = contentType(name) || 'application/octet-stream';
    const compressible = isCompressible(type);
    const file = versionOf(real, stats);
    const variants: Partial<Record<Coding, FileVersion>> = {};
    if (compressible) {
      for (const { coding, extension } of SIBLINGS) {
        const sibling = await this.siblingOf(real + extension, coding, file);
        if (sibling) variants[coding] = sibling;
      }
    }
    return { kind: 'file', file, type, compressible, variants, contents: new Map() };
  }

  /** Resolves symbolic links; a path that does not exist or leads out of root is null. */
  private async realInside(path: string): Promise<string | null> {
    const real = await realpathAsync(path).catch(() => null);
    return real !== null && isInside(this.root, real) ? real : null;
  }

  /** Resolves a precompressed sibling; one older than the file it compresses is ignored. */
  private async siblingOf(path: string, coding: Coding, file: FileVersion): Promise<FileVersion | null> {
    const real = await this.realInside(path);
    if (real === null) return null;
    const stats = await statAsync(real).catch(() => null);
    if (!stats || !stats.isFile() || stats.mtimeMs < file.mtimeMs) return null;
    return versionOf(real, stats, coding);
  }
}

/** An open file descriptor and the metadata read from it, so headers and body always agree. */
export interface OpenedFile {
  fd: number;
  version: FileVersion;
}

/** Opens a representation for reading; the caller owns the descriptor and must close it. */
export async function openVersion(version: FileVersion, suffix: string): Promise<OpenedFile> {
  const fd = await openAsync(version.path, 'r');
  try {
    const stats = await fstatAsync(fd);
    const current = versionOf(version.path, stats, suffix);
    return { fd, version: sameVersion(current, version) ? version : current };
  } catch (error) {
    await closeAsync(fd).catch(() => undefined);
    throw error;
  }
}

/** Reads a whole opened file into memory; null when the file shrank while it was read. */
export async function readOpened(opened: OpenedFile): Promise<Buffer | null> {
  const body = Buffer.allocUnsafe(opened.version.size);
  let offset = 0;
  while (offset < body.length) {
    const { bytesRead } = await readAsync(opened.fd, body, offset, body.length - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return offset === body.length ? body : null;
}

export function closeFd(fd: number): void {
  close(fd, () => undefined);
}
