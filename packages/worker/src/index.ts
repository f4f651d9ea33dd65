export { loadApplication, type Application, type RequestHandler, type WebSocketHandler } from './app.js';
export { StaticFiles, parseRequestPath } from './static.js';
