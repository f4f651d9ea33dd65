// Streaming a response with back-pressure. The application awaits each stream() call, and the
// promise keeps the producer waiting while the response's buffered output is at or over
// softStreamCap, so a slow client costs at most softStreamCap plus one chunk of memory per stream.
import { ServerResponse } from 'node:http';
import type { HttpResponse } from './http-types.js';
import { DEFAULT_LIMITS, contextOfResponse } from './request-context.js';

/** Raised by stream() when the client is gone or the response has already ended. */
export class StreamClosedError extends Error {
  readonly code = 'AERYS_STREAM_CLOSED';

  constructor(reason: string) {
    super(`Cannot stream the response: ${reason}.`);
    this.name = 'StreamClosedError';
  }
}

/**
 * Bytes of this response that are written but not yet handed to the kernel. HTTP/1.1 counts the
 * response's own buffer plus the socket's (ServerResponse.writableLength); HTTP/2 counts the
 * stream's queued DATA, which stays queued while the client's flow-control window is closed.
 */
export function bufferedBytes(res: HttpResponse): number {
  return res.writableLength;
}

function isGone(res: HttpResponse): boolean {
  // A pipelined HTTP/1.1 response has no socket until the responses before it are done.
  if (res instanceof ServerResponse) return res.destroyed || (res.socket?.destroyed ?? false);
  return res.stream.destroyed || res.stream.closed;
}

/**
 * Writes `chunk` to the response. Resolves at once while the buffered output is under the
 * worker's softStreamCap, otherwise once the buffered output has been flushed to the connection.
 * Rejects with StreamClosedError when the response ended or the client disconnected, so a
 * producer stops producing. The caller ends the response with `res.end()` as usual.
 */
export function stream(res: HttpResponse, chunk: string | Uint8Array): Promise<void> {
  if (res.writableEnded) return Promise.reject(new StreamClosedError('the response has already ended'));
  if (isGone(res)) return Promise.reject(new StreamClosedError('the client disconnected'));

  const cap = contextOfResponse(res)?.softStreamCap ?? DEFAULT_LIMITS.softStreamCap;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      res.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onClose = (): void => settle(new StreamClosedError('the client disconnected'));

    res.on('close', onClose);
    // The write callback runs once this chunk, and so everything before it, left the buffer.
    const onWritten = (error?: Error | null): void => settle(error ? new StreamClosedError(error.message) : null);
    if (res instanceof ServerResponse) res.write(chunk, onWritten);
    else res.write(chunk, onWritten);

    if (bufferedBytes(res) < cap) settle(null);
  });
}
