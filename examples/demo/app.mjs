// The demo application: a small JSON API next to the static site in ./site.
import cluster from 'node:cluster';

function json(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export default {
  async request(req, res) {
    const url = new URL(req.url, 'http://localhost');

    if (url.pathname === '/api/hello') {
      return json(res, 200, { message: 'Hello from aerys-cluster', worker: cluster.worker?.id, pid: process.pid });
    }
    if (url.pathname === '/api/time') {
      return json(res, 200, { now: new Date().toISOString() });
    }
    if (url.pathname === '/api/echo' && req.method === 'POST') {
      try {
        const body = await readBody(req, 128 * 1024);
        res.writeHead(200, { 'Content-Type': req.headers['content-type'] ?? 'application/octet-stream', 'Content-Length': body.length });
        return res.end(body);
      } catch (error) {
        return json(res, error.status ?? 400, { error: error.message });
      }
    }
    if (url.pathname === '/api/slow') {
      const ms = Math.min(Number(url.searchParams.get('ms') ?? 1000), 30_000);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return json(res, 200, { sleptMs: ms, pid: process.pid });
    }
    return json(res, 404, { error: 'not found', path: url.pathname });
  },
};
