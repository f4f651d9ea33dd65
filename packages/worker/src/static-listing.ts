// HTML listings of directories without an index file, rendered only when `static.listings` is on.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { lstat, realpath } from 'node:fs/promises';
import { isInside } from './static-path.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * Renders the listing of `directory` (a canonical path inside `root`). Dotfiles appear only when
 * they are served, and symbolic links only when their target is inside root. The listing thus
 * shows nothing that a request could not fetch.
 */
export async function renderListing(root: string, directory: string, urlPath: string, dotfiles: boolean): Promise<string> {
  const names = (await readdir(directory)).filter((name) => dotfiles || !name.startsWith('.')).sort();
  const rows: string[] = [];
  for (const name of names) {
    const path = join(directory, name);
    const info = await lstat(path).catch(() => null);
    if (!info) continue;
    let isDirectory = info.isDirectory();
    if (info.isSymbolicLink()) {
      const target = await realpath(path).catch(() => null);
      if (target === null || !isInside(root, target)) continue;
      isDirectory = (await lstat(target).catch(() => null))?.isDirectory() ?? false;
    }
    const href = encodeURIComponent(name) + (isDirectory ? '/' : '');
    rows.push(`<li><a href="${escapeHtml(href)}">${escapeHtml(name)}${isDirectory ? '/' : ''}</a></li>`);
  }
  const title = `Index of ${escapeHtml(urlPath)}`;
  const parent = urlPath === '/' ? '' : '<li><a href="../">../</a></li>';
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n<ul>\n${parent}${rows.join('\n')}\n</ul></body></html>\n`;
}
