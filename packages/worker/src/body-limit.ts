// The response to a request body over its limit. The unread rest of the body must not reach the
// application or the next request, so HTTP/1.1 closes the connection after the 413 and HTTP/2
// resets the stream with NO_ERROR once the response is out (RFC 9113, section 8.1: a server may
// answer before the request is complete and then ask the client to stop sending).
import { constants, Http2ServerRequest } from 'node:http2';
import type { HttpRequest, HttpResponse } from './http-types.js';

const BODY = '413 Content Too Large\n';

export function sendBodyTooLarge(req: HttpRequest, res: HttpResponse): void {
  if (res.headersSent) {
    // The response has started, so a status can no longer be sent: abort the exchange.
    res.destroy();
    return;
  }

  if (req instanceof Http2ServerRequest) {
    const stream = req.stream;
    res.once('finish', () => {
      if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
    });
  } else {
    res.setHeader('Connection', 'close');
  }
  res.writeHead(413, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(BODY),
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') res.end();
  else res.end(BODY);
}
