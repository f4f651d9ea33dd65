// Request-target parsing for the file server. A target becomes a list of decoded path segments
// that can only name something under `root`: every trick that could climb out of it (`..` in any
// encoding, encoded separators, NUL) makes the target unusable rather than normalised.
import { sep } from 'node:path';

/** A request path the file server may look up. */
export interface RequestPath {
  /** Decoded, non-empty segments; none is `.` or `..`, none contains `/`, `\` or NUL. */
  segments: string[];
  /** True when the path ends with `/`, the form that names a directory. */
  trailingSlash: boolean;
  /** The cache key: the segments joined with `/`, plus a final `/` for the directory form. */
  key: string;
}

/**
 * Parses a request target (origin form `/a/b?q` or absolute form `http://host/a/b`). Returns
 * 'malformed' for invalid percent-encoding, invalid UTF-8 (including overlong forms such as
 * `%c0%ae`) or a target that is not a path; the server responds with 400. Returns null for
 * a path that cannot name a file under root: a `.` or `..` segment, or a segment that decodes to
 * `/`, `\` or NUL. Empty segments (`//`) are dropped, as a file system lookup would.
 */
export function parseRequestPath(target: string): RequestPath | null | 'malformed' {
  let path = target;
  const queryStart = path.search(/[?#]/);
  if (queryStart !== -1) path = path.slice(0, queryStart);
  if (/^https?:\/\//i.test(path)) {
    const slash = path.indexOf('/', path.indexOf('//') + 2);
    path = slash === -1 ? '/' : path.slice(slash);
  }
  if (!path.startsWith('/')) return 'malformed';

  const encoded = path.includes('%');
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let segment = raw;
    if (encoded) {
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return 'malformed';
      }
    }
    if (segment === '.' || segment === '..') return null;
    if (segment.includes('/') || segment.includes('\\') || segment.includes('\0')) return null;
    segments.push(segment);
  }

  const trailingSlash = path.endsWith('/');
  const joined = segments.join('/');
  return { segments, trailingSlash, key: trailingSlash && joined !== '' ? `${joined}/` : joined };
}

/** True when `path` is `root` or lies below it; both must be canonical (realpath) paths. */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** True when a segment names a dotfile or dot-directory (`.git`, `.env`). */
export function hasDotSegment(segments: readonly string[]): boolean {
  return segments.some((segment) => segment.startsWith('.'));
}

/** Percent-encodes each segment again, for a `Location` header that cannot leave this origin. */
export function encodePath(segments: readonly string[], trailingSlash: boolean): string {
  const path = `/${segments.map(encodeURIComponent).join('/')}`;
  return trailingSlash && segments.length > 0 ? `${path}/` : path;
}
