// Static files from `root`. A request reaches the file server only for GET and HEAD, and only a
// path that names an existing regular file (or a directory with an index file) inside `root` is
// served; everything else falls through to the application.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { HttpRequest, HttpResponse } from './http-types.js';
import { contentType } from 'mime-types';
import type { StaticConfig } from '@aerys-cluster/shared';

/** What the file server did with a request. */
export type StaticOutcome = 'served' | 'pass' | 'bad-request';

/**
 * Splits a request target into decoded path segments, or returns null when the target is not a
 * path a file can have: a decoding error, an encoded separator or NUL, a `.` or `..` segment.
 * Absolute-form targets (`http://host/path`) use their path.
 */
export function parseRequestPath(target: string): string[] | null | 'malformed' {
  let path = target;
  const query = path.search(/[?#]/);
  if (query !== -1) path = path.slice(0, query);
  if (/^https?:\/\//i.test(path)) {
    const slash = path.indexOf('/', path.indexOf('//') + 2);
    path = slash === -1 ? '/' : path.slice(slash);
  }
  if (!path.startsWith('/')) return 'malformed';

  const segments: string[] = [];
  for (const raw of path.split('/').slice(1)) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return 'malformed';
    }
    if (segment.includes('/') || segment.includes('\\') || segment.includes('\0')) return null;
    if (segment === '.' || segment === '..') return null;
    segments.push(segment);
  }
  return segments;
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

export class StaticFiles {
  private realRoot: string | null = null;

  constructor(
    private readonly root: string,
    private readonly options: StaticConfig,
  ) {}

  /** Serves the request from disk when a file matches; 'pass' means the application should answer. */
  async serve(req: HttpRequest, res: HttpResponse): Promise<StaticOutcome> {
    const segments = parseRequestPath(req.url ?? '/');
    if (segments === 'malformed') return 'bad-request';
    if (segments === null) return 'pass';
    if (!this.options.dotfiles && segments.some((segment) => segment.startsWith('.'))) return 'pass';

    this.realRoot ??= await realpath(this.root);
    const requested = join(this.realRoot, ...segments);
    const found = await this.resolveFile(requested);
    if (!found) return 'pass';

    if (found.directory) {
      if (!(req.url ?? '').split('?')[0]?.endsWith('/')) {
        const [path, query] = splitQuery(req.url ?? '/');
        res.writeHead(301, { Location: `${path}/${query}`, 'Content-Length': 0 });
        res.end();
        return 'served';
      }
      const index = await this.findIndex(requested);
      if (!index) return 'pass';
      this.send(req, res, index.path, index.size, index.mtime);
      return 'served';
    }

    this.send(req, res, found.path, found.size, found.mtime);
    return 'served';
  }

  private async resolveFile(path: string): Promise<{ path: string; directory: boolean; size: number; mtime: Date } | null> {
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      return null;
    }
    // A symbolic link inside root may point anywhere; only targets inside root are served.
    if (!this.realRoot || !isInside(this.realRoot, real)) return null;

    const info = await stat(real).catch(() => null);
    if (!info) return null;
    if (info.isDirectory()) return { path: real, directory: true, size: 0, mtime: info.mtime };
    if (!info.isFile()) return null;
    return { path: real, directory: false, size: info.size, mtime: info.mtime };
  }

  private async findIndex(directory: string): Promise<{ path: string; size: number; mtime: Date } | null> {
    for (const name of this.options.index) {
      const found = await this.resolveFile(join(directory, name));
      if (found && !found.directory) return found;
    }
    return null;
  }

  private send(req: HttpRequest, res: HttpResponse, path: string, size: number, mtime: Date): void {
    const type = contentType(path.slice(path.lastIndexOf(sep) + 1)) || 'application/octet-stream';
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': size,
      'Last-Modified': mtime.toUTCString(),
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': this.options.defaultCacheControl,
    });
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(path);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }
}

function splitQuery(target: string): [string, string] {
  const index = target.indexOf('?');
  return index === -1 ? [target, ''] : [target.slice(0, index), target.slice(index)];
}
