// The trivial application every contender runs: a fixed 14-byte text response for any request,
// and an echo of every WebSocket message. aerys-cluster loads this module as its `app`; the bare
// servers import `hello` and `echo` from it, so every contender does the same work per request.
const body = Buffer.from('Hello, world!\n');
const headers = { 'Content-Type': 'text/plain', 'Content-Length': body.length };

/** Answers any request with the fixed body; works for HTTP/1.1 and the HTTP/2 compatibility API. */
export function hello(req, res) {
  res.writeHead(200, headers);
  res.end(body);
}

/** Sends each message back unchanged, text as text and binary as binary. */
export function echo(socket) {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
}

export default { request: hello, websocket: echo };
