// Bare node:cluster with an http.Server and ws, echoing every message.
// Usage: node ws-cluster.mjs PORT WORKERS
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { echo, hello } from './app.mjs';
import { KEEP_ALIVE_TIMEOUT_MS, exitOnTerm, stopWorkersOnTerm } from './common.mjs';

const port = Number(process.argv[2]);
const workers = Number(process.argv[3]);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  stopWorkersOnTerm();
} else {
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, hello);
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', echo);
  server.listen(port, '127.0.0.1');
  exitOnTerm();
}
