// Bare node:cluster with Node's default round-robin scheduling and http.createServer: what an
// application author writes by hand. Usage: node node-cluster.mjs PORT WORKERS
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { hello } from './app.mjs';
import { KEEP_ALIVE_TIMEOUT_MS, exitOnTerm, stopWorkersOnTerm } from './common.mjs';

const port = Number(process.argv[2]);
const workers = Number(process.argv[3]);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  stopWorkersOnTerm();
} else {
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, hello);
  server.listen(port, '127.0.0.1');
  exitOnTerm();
}
