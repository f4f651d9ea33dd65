// Opens COUNT keep-alive connections to HOST:PORT, sends one GET PATH on each and keeps the
// connection open and idle after the response. Source addresses rotate over 127.0.1.1,
// 127.0.1.2, ... with PER_SOURCE connections each, so per-client-address limits are not hit.
// Prints {"open":N,"failed":N} once every connection got its response; then each line "count"
// on stdin prints {"open":N} again (connections the server has not closed), and stdin's end exits.
// Usage: node idle.mjs HOST PORT PATH COUNT PER_SOURCE
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [host, portText, path, countText, perSourceText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const perSource = Number(perSourceText);

/** Connections being opened at once; more only fills the server's accept backlog. */
const CONCURRENT_OPENS = 200;
/** Time one connection may take to connect and get its response. */
const OPEN_TIMEOUT_MS = 30_000;

const request = `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`;
const open = new Set();
let failed = 0;

function sourceAddress(index) {
  const source = Math.floor(index / perSource);
  return `127.0.${1 + Math.floor(source / 250)}.${1 + (source % 250)}`;
}

/** Resolves once the response's header block and Content-Length bytes of body arrived. */
function openOne(index) {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress: sourceAddress(index) });
    let buffered = '';
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (ok) {
        open.add(socket);
        socket.removeAllListeners('data');
        socket.once('close', () => open.delete(socket));
      } else {
        failed++;
        socket.destroy();
      }
      resolve();
    };
    const timer = setTimeout(() => finish(false), OPEN_TIMEOUT_MS);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      buffered += chunk;
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(buffered.slice(0, end));
      if (!length || !buffered.startsWith('HTTP/1.1 200')) return finish(false);
      if (buffered.length - end - 4 >= Number(length[1])) finish(true);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

let next = 0;
async function opener() {
  while (next < count) await openOne(next++);
}
await Promise.all(Array.from({ length: Math.min(CONCURRENT_OPENS, count) }, opener));
process.stdout.write(`${JSON.stringify({ open: open.size, failed })}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', () => process.stdout.write(`${JSON.stringify({ open: open.size })}\n`));
lines.on('close', () => {
  for (const socket of open) socket.destroy();
  process.exit(0);
});
