// Per-request state that the application helpers (readBody, stream) need but Node's request and
// response objects do not carry: the limits of this worker and whether the client waits for
// `100 Continue`. Weak maps, so the state goes away with the request.
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

const byRequest = new WeakMap<HttpRequest, RequestContext>();
const byResponse = new WeakMap<HttpResponse, RequestContext>();

/** Limits used for requests that did not pass through a worker's pipeline: the option defaults. */
export const DEFAULT_LIMITS = {
  maxBodySize: OPTIONS.maxBodySize?.default as number,
  softStreamCap: OPTIONS.softStreamCap?.default as number,
};

export function attachContext(req: HttpRequest, res: HttpResponse, context: Omit<RequestContext, 'res'>): void {
  const full = { ...context, res };
  byRequest.set(req, full);
  byResponse.set(res, full);
}

export function contextOfRequest(req: HttpRequest): RequestContext | undefined {
  return byRequest.get(req);
}

export function contextOfResponse(res: HttpResponse): RequestContext | undefined {
  return byResponse.get(res);
}
