export { loadApplication, type Application, type RequestHandler, type WebSocketHandler } from './app.js';
export { StaticFiles, parseRequestPath } from './static.js';
export { readBody, BodyTooLargeError, BodyAbortedError, type ReadBodyOptions } from './body.js';
export { stream, bufferedBytes, StreamClosedError } from './streaming.js';
export type { HttpRequest, HttpResponse } from './http-types.js';
