// The request pipeline shared by every protocol: method limit, static files, then the application.
import { STATUS_CODES } from 'node:http';
import type { Config, Logger } from '@aerys-cluster/shared';
import type { Application } from './app.js';
import { sendBodyTooLarge } from './body-limit.js';
import { BodyTooLargeError } from './body.js';
import type { HttpRequest, HttpResponse } from './http-types.js';
import { attachContext } from './request-context.js';
import type { StaticFiles } from './static.js';

export interface PipelineOptions {
  config: Readonly<Config>;
  app: Application;
  staticFiles: StaticFiles | null;
  log: Logger;
  /** True once the worker drains: HTTP/1.1 responses then carry `Connection: close`. */
  isDraining: () => boolean;
}

/** Sends a short plain-text error response, or destroys the stream when headers already went out. */
export function sendError(res: HttpResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? 'Error'}\n`;
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
  });
  if (res.req?.method === 'HEAD') res.end();
  else res.end(body);
}

/** Builds the request listener that every protocol server calls. */
export function createPipeline(options: PipelineOptions): (req: HttpRequest, res: HttpResponse) => void {
  const { config, app, staticFiles, log } = options;
  const allowed = new Set(config.allowedMethods);
  const allowHeader = config.allowedMethods.join(', ');

  const runApplication = (req: HttpRequest, res: HttpResponse): void => {
    if (!app.request) {
      sendError(res, 404);
      return;
    }
    try {
      const result = app.request(req, res);
      if (result instanceof Promise) result.catch((error: unknown) => applicationFailed(req, res, error));
    } catch (error) {
      applicationFailed(req, res, error);
    }
  };

  const applicationFailed = (req: HttpRequest, res: HttpResponse, error: unknown): void => {
    if (error instanceof BodyTooLargeError) {
      sendBodyTooLarge(req, res, error.announced);
      return;
    }
    log.error({ err: error, method: req.method, path: req.url }, 'application error');
    sendError(res, 500);
  };

  return (req, res) => {
    if (options.isDraining() && req.httpVersionMajor === 1) res.setHeader('Connection', 'close');
    const awaitingContinue = /^100-continue$/i.test(req.headers.expect ?? '');
    attachContext(req, res, { maxBodySize: config.maxBodySize, softStreamCap: config.softStreamCap, awaitingContinue });

    const method = req.method ?? 'GET';
    if (!allowed.has(method)) {
      sendError(res, 405, { Allow: allowHeader });
      return;
    }

    if (staticFiles && (method === 'GET' || method === 'HEAD')) {
      staticFiles.serve(req, res).then(
        (outcome) => {
          if (outcome === 'bad-request') sendError(res, 400);
          else if (outcome === 'pass') runApplication(req, res);
        },
        (error: unknown) => {
          log.error({ err: error, path: req.url }, 'static file error');
          sendError(res, 500);
        },
      );
      return;
    }
    runApplication(req, res);
  };
}
