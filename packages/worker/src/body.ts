// Reading a request body into memory with a size limit. The limit defaults to maxBodySize and an
// application can raise or lower it per request. The body is never buffered past the limit.
import type { HttpRequest } from './http-types.js';
import { DEFAULT_LIMITS, contextOfRequest } from './request-context.js';

export interface ReadBodyOptions {
  /** Largest body accepted, in bytes; defaults to the worker's maxBodySize. */
  maxSize?: number;
}

/**
 * Raised by readBody when the body is larger than the limit. The pipeline responds to an uncaught
 * one with 413 and keeps the rest of the body from being buffered (see body-limit.ts).
 */
export class BodyTooLargeError extends Error {
  readonly code = 'AERYS_BODY_TOO_LARGE';
  readonly status = 413;

  constructor(
    readonly limit: number,
    readonly received: number,
    readonly announced: boolean,
  ) {
    super(`Request body exceeds the limit of ${limit} bytes (${announced ? 'Content-Length' : 'received at least'} ${received}).`);
    this.name = 'BodyTooLargeError';
  }
}

/** Raised by readBody when the client aborts the request before the body is complete. */
export class BodyAbortedError extends Error {
  readonly code = 'AERYS_BODY_ABORTED';

  constructor() {
    super('The client closed the request before the body was complete.');
    this.name = 'BodyAbortedError';
  }
}

function announcedLength(req: HttpRequest): number | null {
  const header = req.headers['content-length'];
  if (header === undefined || !/^\d+$/.test(header)) return null;
  return Number(header);
}

/**
 * Reads the whole request body. Rejects with BodyTooLargeError at once when Content-Length
 * announces more than the limit, without reading the body. Otherwise it rejects as soon as the
 * bytes received pass the limit, releases them, and lets the rest be discarded unbuffered.
 * For a client that sent `Expect: 100-continue`, `100 Continue` goes out only when the announced
 * length fits the limit.
 */
export function readBody(req: HttpRequest, options: ReadBodyOptions = {}): Promise<Buffer> {
  const context = contextOfRequest(req);
  const limit = options.maxSize ?? context?.maxBodySize ?? DEFAULT_LIMITS.maxBodySize;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    return Promise.reject(new RangeError(`readBody: maxSize must be a non-negative integer of bytes, got ${String(options.maxSize)}.`));
  }

  if (req.readableEnded || req.readableDidRead) {
    return Promise.reject(new Error('readBody: the request body has already been read; call readBody once per request, before reading `req` otherwise.'));
  }

  const announced = announcedLength(req);
  if (announced !== null && announced > limit) return Promise.reject(new BodyTooLargeError(limit, announced, true));

  if (context?.awaitingContinue) {
    context.awaitingContinue = false;
    context.res.writeContinue();
  }
  return collect(req, limit);
}

function collect(req: HttpRequest, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;

    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      chunks = [];
      // The request keeps flowing without a 'data' listener, so the rest is read and dropped
      // instead of piling up in buffers. Under HTTP/2 the pipeline resets the stream after 413.
      req.resume();
      reject(new BodyTooLargeError(limit, size, false));
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onAborted = (): void => {
      cleanup();
      reject(new BodyAbortedError());
    };
    const onClose = (): void => {
      if (req.readableEnded) return;
      cleanup();
      reject(new BodyAbortedError());
    };

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onClose);
  });
}
