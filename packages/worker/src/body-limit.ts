// The response to a request body over its limit. The unread rest of the body must not reach the
// application or be buffered:
// - HTTP/1.1, Content-Length over the limit: nothing was read, so the connection closes after
//   the 413 instead of reading an announced body that may be gigabytes.
// - HTTP/1.1, body that passed the limit while it was read: readBody keeps the request flowing
//   without a listener, so Node reads and drops the rest. The client, which is still sending,
//   then reads the 413 instead of a connection reset. bodyTimeout bounds how long that takes.
// - HTTP/2: the stream is reset with NO_ERROR once the response is out (RFC 9113, section 8.1: a
//   server may answer before the request is complete and then ask the client to stop sending).
import { constants, Http2ServerRequest } from 'node:http2';
import type { HttpRequest, HttpResponse } from './http-types.js';
import { recordLimitRejection } from './metrics.js';

const BODY = '413 Content Too Large\n';

export function sendBodyTooLarge(req: HttpRequest, res: HttpResponse, announced: boolean): void {
  recordLimitRejection('body');
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
  } else if (announced) {
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
