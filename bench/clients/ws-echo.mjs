// WebSocket echo load: opens CONNECTIONS clients, keeps DEPTH messages of SIZE bytes in flight
// on each, and prints one JSON line with messages per second and latency percentiles (ms).
// Usage: node ws-echo.mjs URL CONNECTIONS DEPTH SIZE DURATION_S
import WebSocket from 'ws';
import { percentile } from '../lib/stats.mjs';

const [url, connectionsText, depthText, sizeText, durationText] = process.argv.slice(2);
const connections = Number(connectionsText);
const depth = Number(depthText);
const payload = Buffer.alloc(Number(sizeText), 'x');
const durationMs = Number(durationText) * 1000;

/** Latency samples in ms; echoes arrive in send order, so each socket keeps a FIFO of send times. */
const latencies = [];
let received = 0;
let errors = 0;
let measuring = false;
let startedAt = 0;

function openClient() {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const sentAt = [];
    const sendOne = () => {
      sentAt.push(performance.now());
      socket.send(payload);
    };
    socket.on('open', () => {
      for (let i = 0; i < depth; i++) sendOne();
      resolve(socket);
    });
    socket.on('message', () => {
      const at = sentAt.shift();
      if (measuring) {
        received++;
        latencies.push(performance.now() - at);
      }
      if (socket.readyState === WebSocket.OPEN) sendOne();
    });
    socket.on('error', () => {
      errors++;
      resolve(null);
    });
    socket.on('close', (code) => {
      if (measuring && code !== 1000 && code !== 1005) errors++;
    });
  });
}

const sockets = (await Promise.all(Array.from({ length: connections }, openClient))).filter(Boolean);
measuring = true;
startedAt = performance.now();
await new Promise((resolve) => setTimeout(resolve, durationMs));
measuring = false;
const elapsed = (performance.now() - startedAt) / 1000;

latencies.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    rps: received / elapsed,
    requests: received,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: errors + (connections - sockets.length),
    errorDetail: { failedToOpen: connections - sockets.length, other: errors },
  })}\n`,
);
for (const socket of sockets) socket.terminate();
process.exit(0);
