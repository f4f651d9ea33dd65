// Express with serve-static under bare node:cluster: the usual way to serve files from Node
// without a dedicated server. Usage: node express-static.mjs PORT WORKERS ROOT
import cluster from 'node:cluster';
import express from 'express';
import serveStatic from 'serve-static';
import { KEEP_ALIVE_TIMEOUT_MS, exitOnTerm, stopWorkersOnTerm } from './common.mjs';

const port = Number(process.argv[2]);
const workers = Number(process.argv[3]);
const root = process.argv[4];

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  stopWorkersOnTerm();
} else {
  const app = express();
  app.use(serveStatic(root));
  const server = app.listen(port, '127.0.0.1');
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  exitOnTerm();
}
