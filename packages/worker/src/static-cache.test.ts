import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCache, type CacheLimits, type FileEntry, type Lookup } from './static-cache.js';

const LIMITS: CacheLimits = { ttlMs: 60_000, maxEntries: 100, maxBytes: 1024, maxFileSize: 512 };

function makeRoot(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'aerys-cache-')));
}

async function lookupFile(cache: FileCache, name: string): Promise<FileEntry> {
  const found = await cache.lookup(name, [name]);
  assert.equal(found.kind, 'file', `${name} is a file`);
  return found as FileEntry;
}

test('fresh entry needs no system call', async () => {
  const root = makeRoot();
  writeFileSync(join(root, 'a.txt'), 'a');
  const cache = new FileCache(root, LIMITS);
  const first = await cache.lookup('a.txt', ['a.txt']);
  const second: Lookup | Promise<Lookup> = cache.lookup('a.txt', ['a.txt']);
  assert.ok(!(second instanceof Promise), 'a fresh entry is returned synchronously');
  assert.equal(second, first);
});

test('concurrent lookups share one resolution', async () => {
  const root = makeRoot();
  writeFileSync(join(root, 'a.txt'), 'a');
  const cache = new FileCache(root, LIMITS);
  const one = cache.lookup('a.txt', ['a.txt']);
  const two = cache.lookup('a.txt', ['a.txt']);
  assert.equal(one, two);
});

test('stale entry sees the change and drops contents', async () => {
  const root = makeRoot();
  const path = join(root, 'a.txt');
  writeFileSync(path, 'one');
  const cache = new FileCache(root, { ...LIMITS, ttlMs: 0 });
  const before = await lookupFile(cache, 'a.txt');
  cache.keepContent('a.txt', before, 'identity', Buffer.from('one'));
  assert.equal(cache.size, 3);

  const unchanged = await lookupFile(cache, 'a.txt');
  assert.equal(unchanged.contents.get('identity')?.toString(), 'one', 'contents survive an unchanged re-check');

  writeFileSync(path, 'three');
  utimesSync(path, new Date(), new Date(Date.now() + 2000));
  const after = await lookupFile(cache, 'a.txt');
  assert.equal(after.file.size, 5);
  assert.notEqual(after.file.etag, before.file.etag);
  assert.equal(after.contents.size, 0);
  assert.equal(cache.size, 0);
});

test('byte and entry limits hold', async () => {
  const root = makeRoot();
  for (const name of ['a', 'b', 'c']) writeFileSync(join(root, name), 'x'.repeat(400));
  const cache = new FileCache(root, { ...LIMITS, maxEntries: 2 });
  for (const name of ['a', 'b', 'c']) {
    const entry = await lookupFile(cache, name);
    cache.keepContent(name, entry, 'identity', Buffer.alloc(400));
    assert.ok(cache.size <= LIMITS.maxBytes, `${cache.size} bytes after ${name}`);
  }
  assert.equal(cache.canHold(513), false, 'above maxFileSize');
  assert.equal(cache.canHold(512), true);
  assert.ok(cache.lookup('a', ['a']) instanceof Promise, 'the oldest entry was evicted');
});

test('links out of root are missing', async () => {
  const root = makeRoot();
  const outside = makeRoot();
  writeFileSync(join(outside, 'secret'), 's');
  symlinkSync(join(outside, 'secret'), join(root, 'link'));
  symlinkSync(outside, join(root, 'dir'));
  const cache = new FileCache(root, LIMITS);
  assert.equal((await cache.lookup('link', ['link'])).kind, 'missing');
  assert.equal((await cache.lookup('dir/secret', ['dir', 'secret'])).kind, 'missing');
  assert.equal((await cache.lookup('nope', ['nope'])).kind, 'missing');
});

test('stale precompressed sibling is ignored', async () => {
  const root = makeRoot();
  writeFileSync(join(root, 'a.css'), 'body{}');
  writeFileSync(join(root, 'a.css.gz'), 'gz');
  writeFileSync(join(root, 'a.css.br'), 'br');
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(root, 'a.css.gz'), old, old);
  const cache = new FileCache(root, LIMITS);
  const entry = await lookupFile(cache, 'a.css');
  assert.equal(entry.variants.gzip, undefined, 'an older .gz is not used');
  assert.equal(entry.variants.br?.size, 2);
  assert.match(entry.variants.br?.etag ?? '', /-br"$/);
  assert.equal(entry.type, 'text/css; charset=utf-8');
});
