// An ordinary Express application. aerys-cluster calls the exported app as a request listener
// `(req, res)`, which is what an Express app is, so the same module also runs under
// `app.listen()` (see server.mjs) without changes.
import express from 'express';

const app = express();

app.get('/', (req, res) => {
  res.type('text/plain').send('hello from express\n');
});

app.get('/json', (req, res) => {
  res.json({ framework: 'express', method: req.method, name: req.query.name ?? null, httpVersion: req.httpVersion });
});

app.post('/echo', express.raw({ type: '*/*', limit: '1mb' }), (req, res) => {
  res.type('application/octet-stream').send(req.body);
});

export default app;
