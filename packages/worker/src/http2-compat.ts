// HTTP/2 requests for frameworks that replace the prototype of `req` and `res`. Express (4 and 5)
// calls Object.setPrototypeOf(req, app.request) in app.handle, and app.request derives from
// node:http's IncomingMessage. An Http2ServerRequest then loses its own stream methods, and the
// first body read throws inside Node (TypeError reading `socket.readable`, expressjs/express#3388).
// Copying the HTTP/2 compatibility methods onto the instance keeps them in front of any prototype
// the framework sets, while the framework's own helpers (req.query, res.json) still resolve.
import { IncomingMessage } from 'node:http';
import { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { HttpRequest, HttpResponse } from './http-types.js';

type Handler = (req: HttpRequest, res: HttpResponse) => unknown;

/** Returns every own property of `prototype` but its constructor, symbol-keyed ones included (setHeader calls this[kSetHeader]). */
function ownMethods(prototype: object): PropertyDescriptorMap {
  const descriptors: PropertyDescriptorMap = {};
  for (const key of Reflect.ownKeys(prototype)) {
    if (key === 'constructor') continue;
    const descriptor = Reflect.getOwnPropertyDescriptor(prototype, key);
    if (descriptor) descriptors[key] = descriptor;
  }
  return descriptors;
}

const REQUEST_METHODS = ownMethods(Http2ServerRequest.prototype);
const RESPONSE_METHODS = ownMethods(Http2ServerResponse.prototype);

/**
 * Returns true for a request listener that will set an IncomingMessage-derived prototype on the
 * request: a function with a `request` object inheriting from IncomingMessage, as an Express
 * application has.
 */
export function replacesRequestPrototype(handler: unknown): boolean {
  if (typeof handler !== 'function') return false;
  const request: unknown = (handler as { request?: unknown }).request;
  return typeof request === 'object' && request !== null && Object.prototype.isPrototypeOf.call(IncomingMessage.prototype, request);
}

/**
 * Wraps `handler` so HTTP/2 requests keep their own methods whatever prototype the handler sets.
 * Copying 55 properties costs about 15 us per HTTP/2 request (estimate from a loop on a loaded
 * 2-core machine), paid only by applications that replacesRequestPrototype() matches.
 */
export function keepHttp2Methods(handler: Handler): Handler {
  return (req, res) => {
    if (req instanceof Http2ServerRequest && res instanceof Http2ServerResponse) {
      Object.defineProperties(req, REQUEST_METHODS);
      Object.defineProperties(res, RESPONSE_METHODS);
    }
    return handler(req, res);
  };
}
