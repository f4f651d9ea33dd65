// Bare node:cluster with node:http2: h2c (prior knowledge) without certificate arguments, TLS with
// ALPN h2 and HTTP/1.1 with them. Usage: node http2-cluster.mjs PORT WORKERS [CERT KEY]
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer, createSecureServer } from 'node:http2';
import { hello } from './app.mjs';
import { KEEP_ALIVE_TIMEOUT_MS, exitOnTerm, stopWorkersOnTerm } from './common.mjs';

const [port, workers] = process.argv.slice(2, 4).map(Number);
const [certPath, keyPath] = process.argv.slice(4, 6);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  stopWorkersOnTerm();
} else {
  const options = { peerMaxConcurrentStreams: 100 };
  const server = certPath
    ? createSecureServer({ ...options, cert: readFileSync(certPath), key: readFileSync(keyPath), allowHTTP1: true }, hello)
    : createServer(options, hello);
  server.setTimeout(KEEP_ALIVE_TIMEOUT_MS);
  server.listen(port, '127.0.0.1');
  exitOnTerm();
}
