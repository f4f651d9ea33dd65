// The demo application: a small JSON API next to the static site in ./site, a streamed response
// and a WebSocket chat. The same code serves HTTP/1.1 and HTTP/2.
import cluster from 'node:cluster';
import { readBody, stream } from 'aerys-cluster';

function json(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** WebSocket clients of this worker; a chat message reaches the clients of the same worker only. */
const chatClients = new Set();

export default {
  async request(req, res) {
    const url = new URL(req.url, 'http://localhost');

    if (url.pathname === '/api/hello') {
      return json(res, 200, { message: 'Hello from aerys-cluster', protocol: `HTTP/${req.httpVersion}`, worker: cluster.worker?.id, pid: process.pid });
    }
    if (url.pathname === '/api/time') {
      return json(res, 200, { now: new Date().toISOString() });
    }
    if (url.pathname === '/api/echo' && req.method === 'POST') {
      // readBody applies maxBodySize; an uncaught BodyTooLargeError becomes a 413 response.
      const body = await readBody(req);
      res.writeHead(200, { 'Content-Type': req.headers['content-type'] ?? 'application/octet-stream', 'Content-Length': body.length });
      return res.end(body);
    }
    if (url.pathname === '/api/slow') {
      const ms = Math.min(Number(url.searchParams.get('ms') ?? 1000), 30_000);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return json(res, 200, { sleptMs: ms, pid: process.pid });
    }
    if (url.pathname === '/api/count') {
      // Streams numbered lines; stream() waits whenever the client falls behind by softStreamCap.
      const lines = Math.min(Number(url.searchParams.get('lines') ?? 100_000), 10_000_000);
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      for (let i = 1; i <= lines; i++) await stream(res, `line ${i}\n`);
      return res.end();
    }
    return json(res, 404, { error: 'not found', path: url.pathname });
  },

  websocket(socket) {
    chatClients.add(socket);
    socket.on('close', () => chatClients.delete(socket));
    socket.on('message', (data) => {
      const text = JSON.stringify({ worker: cluster.worker?.id, at: new Date().toISOString(), text: data.toString().slice(0, 1000) });
      for (const client of chatClients) client.send(text);
    });
  },
};
