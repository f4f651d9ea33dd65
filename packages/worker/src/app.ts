// Loading the user's application module.
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { HttpRequest, HttpResponse } from './http-types.js';
import { keepHttp2Methods, replacesRequestPrototype } from './http2-compat.js';

/** The request handler of an application: Node's request listener, for HTTP/1.1 and HTTP/2 objects. */
export type RequestHandler = (req: HttpRequest, res: HttpResponse) => unknown;
/** The WebSocket handler of an application: a `ws` WebSocket and the HTTP/1.1 upgrade request. */
export type WebSocketHandler = (socket: WebSocket, req: IncomingMessage) => unknown;

export interface Application {
  request: RequestHandler | null;
  websocket: WebSocketHandler | null;
}

/** Raised when the application module cannot be loaded or has no usable default export. */
export class ApplicationError extends Error {
  readonly code = 'AERYS_APP_INVALID';
}

let hooksRegistered = false;

/**
 * Lets the application at `path` import `aerys-cluster` even where its own node_modules has no
 * copy. A resolution hook costs a loader thread per worker, so it is registered only when needed.
 */
function makePackageResolvable(path: string): void {
  const packageUrl = process.env.AERYS_PACKAGE_URL;
  if (hooksRegistered || !packageUrl) return;
  try {
    createRequire(path).resolve('aerys-cluster');
    return;
  } catch {
    // Not resolvable from the application's directory: map it to the running server's package.
  }
  register(new URL('./app-hooks.js', import.meta.url).href, import.meta.url, { data: { packageUrl } });
  hooksRegistered = true;
}

/**
 * Imports the module at `path`. Its default export is a request listener `(req, res)` or an
 * object with `request(req, res)` and optionally `websocket(socket, req)`. The import URL carries
 * a query string so that a reload loads the file as it is now, not the module cache.
 */
export async function loadApplication(path: string | null): Promise<Application> {
  if (path === null) return { request: null, websocket: null };
  makePackageResolvable(path);

  let module: { default?: unknown };
  try {
    module = (await import(`${pathToFileURL(path).href}?generation=${process.env.AERYS_GENERATION ?? '0'}`)) as { default?: unknown };
  } catch (error) {
    const summary = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // Node 20's SyntaxError from import() names no line; `node --check` does.
    const hint = error instanceof SyntaxError ? ` (run \`node --check ${path}\` to see the line)` : '';
    const stack = error instanceof Error && error.stack ? `\n${error.stack}` : '';
    throw new ApplicationError(`Cannot load application ${path}: ${summary}${hint}${stack}`);
  }

  const exported = module.default;
  if (typeof exported === 'function') {
    const handler = exported as RequestHandler;
    return { request: replacesRequestPrototype(exported) ? keepHttp2Methods(handler) : handler, websocket: null };
  }
  if (typeof exported === 'object' && exported !== null) {
    const { request, websocket } = exported as { request?: unknown; websocket?: unknown };
    if (request !== undefined && typeof request !== 'function') {
      throw new ApplicationError(`Application ${path}: "request" must be a function (req, res), got ${typeof request}.`);
    }
    if (websocket !== undefined && typeof websocket !== 'function') {
      throw new ApplicationError(`Application ${path}: "websocket" must be a function (socket, req), got ${typeof websocket}.`);
    }
    if (request === undefined && websocket === undefined) {
      throw new ApplicationError(`Application ${path}: the default export has neither "request" nor "websocket".`);
    }
    return {
      request: (request as RequestHandler | undefined)?.bind(exported) ?? null,
      websocket: (websocket as WebSocketHandler | undefined)?.bind(exported) ?? null,
    };
  }
  throw new ApplicationError(
    `Application ${path} must have a default export: a function (req, res) or an object { request, websocket }; got ${exported === undefined ? 'no default export' : typeof exported}.`,
  );
}
