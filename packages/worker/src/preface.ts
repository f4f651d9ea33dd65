// Telling HTTP/2 with prior knowledge (h2c) from HTTP/1.1 on a cleartext connection: an HTTP/2
// client starts with the fixed connection preface (RFC 9113, section 3.4), which no valid
// HTTP/1.1 request line matches. The bytes read are put back, so the chosen server reads them.
import type { Socket } from 'node:net';

export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type CleartextProtocol = 'h2c' | 'http/1.1';

/**
 * Reads from `socket` until its first bytes match or differ from the HTTP/2 preface, then calls
 * `done` with the bytes unshifted back into the socket. A client that sends nothing within
 * `timeoutMs` is disconnected, like one that stalls in the request header.
 */
export function detectProtocol(socket: Socket, timeoutMs: number, done: (protocol: CleartextProtocol) => void): void {
  let received: Buffer = Buffer.alloc(0);

  const finish = (protocol: CleartextProtocol): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.pause();
    if (received.length > 0) socket.unshift(received);
    done(protocol);
  };
  const onData = (chunk: Buffer): void => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, HTTP2_PREFACE.length);
    const matches = received.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (matches && received.length < HTTP2_PREFACE.length) return;
    finish(matches ? 'h2c' : 'http/1.1');
  };
  const onClose = (): void => clearTimeout(timer);

  const timer = setTimeout(() => {
    socket.off('data', onData);
    socket.destroy();
  }, timeoutMs);
  socket.on('data', onData);
  socket.once('close', onClose);
  socket.resume();
}
