// An ordinary Koa application. Its callback() is a Node.js request listener `(req, res)`, so
// aerys-cluster serves it as `app` without changes.
import Koa from 'koa';

const app = new Koa();

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/') {
    ctx.type = 'text/plain';
    ctx.body = 'hello from koa\n';
  } else if (ctx.method === 'GET' && ctx.path === '/json') {
    ctx.body = { framework: 'koa', method: ctx.method, name: ctx.query.name ?? null, httpVersion: ctx.req.httpVersion };
  } else if (ctx.method === 'POST' && ctx.path === '/echo') {
    ctx.type = 'application/octet-stream';
    ctx.body = await readBody(ctx.req);
  }
  // Anything else falls through to Koa's own 404.
});

export default app.callback();
