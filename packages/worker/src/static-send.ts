// Writing file bodies: from memory, streamed from a file descriptor with back-pressure, and as
// multipart/byteranges, the same way on both protocols.
//
// NOTE: HTTP/2 bodies avoid respondWithFD() and respondWithFile(). On Node 20.20, when a client
// resets the stream while Node's native file pipe has a read in flight, the read's completion
// writes into the destroyed stream and the worker dies with SIGSEGV, whoever closes the
// descriptor. Writing through the response costs one copy per chunk and bypasses that pipe.
import { createReadStream, read } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import { pipeline, type Transform } from 'node:stream';
import { promisify } from 'node:util';
import type { HttpResponse } from './http-types.js';
import { closeFd, type OpenedFile } from './static-cache.js';
import type { ByteRange } from './static-http.js';

const readAsync = promisify(read);

/**
 * Bytes read from disk per write while streaming a file. Two buffers of this size per response
 * are reused for the whole file, so a response in flight keeps 2 x 128 KiB however large the
 * file is, and no buffer is allocated per chunk.
 */
const STREAM_CHUNK_SIZE = 128 * 1024;

// node:http and the node:http2 compatibility API have write() and end() signatures that
// TypeScript cannot call through the union, so each call site narrows first.
function write(res: HttpResponse, chunk: Buffer): boolean {
  return res instanceof ServerResponse ? res.write(chunk) : res.write(chunk);
}

/** Writes a chunk and resolves once it left the response's buffer, so the chunk may be reused. */
function writeFlushed(res: HttpResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null): void => (error ? reject(error) : resolve());
    if (res instanceof ServerResponse) res.write(chunk, done);
    else res.write(chunk, done);
  });
}

function end(res: HttpResponse, body: Buffer | null): void {
  if (body === null) res.end();
  else if (res instanceof ServerResponse) res.end(body);
  else res.end(body);
}

/** Sends headers and an in-memory body; HEAD sends the same headers and no body. */
export function sendBuffer(res: HttpResponse, status: number, headers: OutgoingHttpHeaders, body: Buffer | null, head: boolean): void {
  res.writeHead(status, headers);
  end(res, head ? null : body);
}

/**
 * Copies `length` bytes at `start` of `fd` into the response through two reused buffers. Reading
 * the next chunk waits until the chunk last read into that buffer has been flushed to the socket,
 * so at most two chunks are in flight: back-pressure with flat memory whatever the file size.
 * Rejects when the client goes away or the file shrinks.
 */
async function copyRange(res: HttpResponse, fd: number, start: number, length: number): Promise<void> {
  const size = Math.min(STREAM_CHUNK_SIZE, length);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  const flushed: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
  let closeListener = (): void => undefined;
  const closed = new Promise<never>((_, reject) => {
    closeListener = () => reject(new Error('client closed the connection'));
    res.once('close', closeListener);
  });
  // A rejection that no race observes any more must not become an unhandled rejection.
  closed.catch(() => undefined);

  try {
    let offset = 0;
    let slot = 0;
    while (offset < length) {
      await Promise.race([flushed[slot], closed]);
      const buffer = buffers[slot] ?? Buffer.alloc(0);
      const { bytesRead } = await readAsync(fd, buffer, 0, Math.min(buffer.length, length - offset), start + offset);
      if (bytesRead === 0) throw new Error('file shrank while it was sent');
      const written = writeFlushed(res, bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      written.catch(() => undefined);
      flushed[slot] = written;
      offset += bytesRead;
      slot = 1 - slot;
    }
    await Promise.race([Promise.all(flushed), closed]);
  } finally {
    res.off('close', closeListener);
  }
}

/**
 * Sends `range` (or the whole file) from an opened file and closes the descriptor when the
 * response ends or the client goes away. HTTP/2 uses the same path: see the note at the top.
 */
export function sendOpened(res: HttpResponse, status: number, headers: OutgoingHttpHeaders, opened: OpenedFile, range: ByteRange | null, head: boolean): void {
  const start = range?.start ?? 0;
  const length = range ? range.end - range.start + 1 : opened.version.size;

  res.writeHead(status, headers);
  if (head || length === 0) {
    closeFd(opened.fd);
    res.end();
    return;
  }
  copyRange(res, opened.fd, start, length).then(
    () => {
      closeFd(opened.fd);
      res.end();
    },
    () => {
      closeFd(opened.fd);
      res.destroy();
    },
  );
}

/** Sends an on-the-fly compressed body through `encoder`; the descriptor closes with the stream. */
export function sendCompressed(res: HttpResponse, headers: OutgoingHttpHeaders, opened: OpenedFile, encoder: Transform, head: boolean): void {
  res.writeHead(200, headers);
  if (head) {
    closeFd(opened.fd);
    encoder.destroy();
    res.end();
    return;
  }
  const source = createReadStream('', { fd: opened.fd, autoClose: true });
  pipeline(source, encoder, res, ignoreClientAbort);
}

function ignoreClientAbort(): void {
  // A client that disconnects mid-body ends the pipeline with an error. pipeline() has already
  // destroyed every stream and closed the descriptor, and no client is left to send an error to.
}

// One boundary per process is enough: RFC 9110 only requires that it not occur in the parts,
// and 24 random hex digits make an accidental match in file data negligible.
const BOUNDARY = randomBytes(12).toString('hex');

/** The `Content-Type` of a multipart/byteranges response. */
export const MULTIPART_TYPE = `multipart/byteranges; boundary=${BOUNDARY}`;

interface MultipartLayout {
  heads: Buffer[];
  tail: Buffer;
  length: number;
}

/** Lays out the part headers so that `Content-Length` is known before the body is sent. */
export function layoutMultipart(ranges: readonly ByteRange[], type: string, size: number): MultipartLayout {
  const heads = ranges.map((range, i) =>
    Buffer.from(`${i === 0 ? '' : '\r\n'}--${BOUNDARY}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`, 'latin1'),
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`, 'latin1');
  let length = tail.length;
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i];
    if (range) length += (heads[i]?.length ?? 0) + range.end - range.start + 1;
  }
  return { heads, tail, length };
}

/** Sends a multipart/byteranges body, from memory or from an opened file. */
export function sendMultipart(
  res: HttpResponse,
  headers: OutgoingHttpHeaders,
  ranges: readonly ByteRange[],
  layout: MultipartLayout,
  source: Buffer | OpenedFile,
  head: boolean,
): void {
  res.writeHead(206, headers);
  if (Buffer.isBuffer(source)) {
    if (!head) {
      ranges.forEach((range, i) => {
        write(res, layout.heads[i] ?? Buffer.alloc(0));
        write(res, source.subarray(range.start, range.end + 1));
      });
      write(res, layout.tail);
    }
    res.end();
    return;
  }
  if (head) {
    closeFd(source.fd);
    res.end();
    return;
  }
  writeParts(res, ranges, layout, source).then(
    () => res.end(),
    () => res.destroy(),
  );
}

async function writeParts(res: HttpResponse, ranges: readonly ByteRange[], layout: MultipartLayout, opened: OpenedFile): Promise<void> {
  try {
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i];
      if (!range) continue;
      await writeChunk(res, layout.heads[i] ?? Buffer.alloc(0));
      await copyRange(res, opened.fd, range.start, range.end - range.start + 1);
    }
    await writeChunk(res, layout.tail);
  } finally {
    closeFd(opened.fd);
  }
}

/** Writes one chunk and waits for `drain` when the socket buffer is full. */
async function writeChunk(res: HttpResponse, chunk: Buffer): Promise<void> {
  if (res.destroyed) throw new Error('client closed the connection');
  if (write(res, chunk)) return;
  await Promise.race([once(res, 'drain'), once(res, 'close')]);
}
