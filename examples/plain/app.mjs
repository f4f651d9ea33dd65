// A plain Node.js request listener, the function http.createServer() takes. aerys-cluster
// serves it as `app` without changes.
const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' };

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export default async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');

  if (req.method === 'GET' && url.pathname === '/') {
    res.writeHead(200, TEXT);
    res.end('hello from plain\n');
    return;
  }
  if (req.method === 'GET' && url.pathname === '/json') {
    const body = JSON.stringify({ framework: 'plain', method: req.method, name: url.searchParams.get('name'), httpVersion: req.httpVersion });
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (req.method === 'POST' && url.pathname === '/echo') {
    const body = await readBody(req);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    res.end(body);
    return;
  }
  res.writeHead(404, TEXT);
  res.end('not found\n');
}
