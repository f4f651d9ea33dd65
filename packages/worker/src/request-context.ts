// Per-request state that the application helpers (readBody, stream) need but Node's request and
// response objects do not carry: the limits of this worker and whether the client waits for
// `100 Continue`. The state sits in a symbol-keyed property of the request and response objects,
// so it goes away with them.
import { OPTIONS } from '@aerys-cluster/shared';
import type { HttpRequest, HttpResponse } from './http-types.js';

export interface RequestContext {
  res: HttpResponse;
  /** Default limit of readBody, in bytes. */
  maxBodySize: number;
  /** Buffered response bytes above which stream() waits. */
  softStreamCap: number;
  /** True while the client sent `Expect: 100-continue` and no `100 Continue` went out yet. */
  awaitingContinue: boolean;
}

/**
 * A property rather than a WeakMap, because one WeakMap entry per request made the garbage collector's
 * ephemeron work dominate a hello-world request (worker CPU time per request 35 us instead of 21 us,
 * bench/run.mjs --scenarios hello-keepalive on 2 cores).
 */
const CONTEXT = Symbol('aerys.requestContext');

interface Carrier {
  [CONTEXT]?: RequestContext;
}

/** Limits used for requests that did not pass through a worker's pipeline: the option defaults. */
export const DEFAULT_LIMITS = {
  maxBodySize: OPTIONS.maxBodySize?.default as number,
  softStreamCap: OPTIONS.softStreamCap?.default as number,
};

export function attachContext(req: HttpRequest, res: HttpResponse, context: Omit<RequestContext, 'res'>): void {
  const full = { ...context, res };
  (req as HttpRequest & Carrier)[CONTEXT] = full;
  (res as HttpResponse & Carrier)[CONTEXT] = full;
}

export function contextOfRequest(req: HttpRequest): RequestContext | undefined {
  return (req as HttpRequest & Carrier)[CONTEXT];
}

export function contextOfResponse(res: HttpResponse): RequestContext | undefined {
  return (res as HttpResponse & Carrier)[CONTEXT];
}
