// The request and response types the pipeline and the application see. Both HTTP versions arrive
// as Node's objects: node:http for HTTP/1.1, the node:http2 compatibility API for HTTP/2.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export type HttpRequest = IncomingMessage | Http2ServerRequest;
export type HttpResponse = ServerResponse | Http2ServerResponse;
export type RequestListener = (req: HttpRequest, res: HttpResponse) => void;
