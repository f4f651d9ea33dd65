// A minimal HTTP/2 client that writes raw frames (RFC 9113, section 4.1) over a TCP socket, for
// flood tests that need frames no well-behaved client library sends.
import { connect, type Socket } from 'node:net';

export const FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7, CONTINUATION: 0x9 } as const;
export const FLAG = { END_STREAM: 0x1, END_HEADERS: 0x4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Encodes one frame: 24-bit length, type, flags, 31-bit stream id, payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/**
 * Encodes an HPACK header block: `:method` (GET or POST) and `:scheme http` from the static
 * table, then `:path` and `:authority localhost` as literals without indexing.
 */
export function requestHeaders(method: 'GET' | 'POST' = 'GET', path = '/'): Buffer {
  const authority = Buffer.from('localhost');
  const pathBytes = Buffer.from(path);
  return Buffer.concat([
    Buffer.from([method === 'GET' ? 0x82 : 0x83, 0x86, 0x04, pathBytes.length]),
    pathBytes,
    Buffer.from([0x01, authority.length]),
    authority,
  ]);
}

export function rstStream(streamId: number, code = 0x8): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, payload);
}

export interface RawSession {
  socket: Socket;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  /** The error code of the first GOAWAY the server sent, or null. */
  goawayCode(): number | null;
  /**
   * Writes frames in batches of `batch`, pausing `pauseMs` between batches, so the server reads
   * them over many turns of its event loop as a sustained flood. Stops once the socket closes.
   */
  send(frames: Buffer[], batch?: number, pauseMs?: number): Promise<void>;
}

/** Opens a connection, sends the preface and an empty SETTINGS frame, and parses what comes back. */
export function openRawSession(port: number, host = '127.0.0.1'): Promise<RawSession> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    let goaway: number | null = null;
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 9) {
        const length = received.readUIntBE(0, 3);
        if (received.length < 9 + length) break;
        if (received[3] === FRAME.GOAWAY && goaway === null && length >= 8) goaway = received.readUInt32BE(9 + 4);
        received = received.subarray(9 + length);
      }
    });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
      resolve({
        socket,
        closed,
        goawayCode: () => goaway,
        async send(frames, batch = 50, pauseMs = 5) {
          for (let start = 0; start < frames.length; start += batch) {
            if (socket.destroyed || socket.closed) return;
            if (!socket.write(Buffer.concat(frames.slice(start, start + batch)))) {
              await new Promise((done) => socket.once('drain', done).once('close', done));
            }
            await new Promise((done) => setTimeout(done, pauseMs));
          }
        },
      });
    });
    socket.once('error', reject);
  });
}

/** Builds the frames of each flood; `count` bounds every loop. */
export const floods: Record<string, (count: number) => Buffer[]> = {
  'rapid reset': (count) => Array.from({ length: count }, (_, i) => Buffer.concat([frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1 + 2 * i, requestHeaders()), rstStream(1 + 2 * i)])),
  'PING flood': (count) => Array.from({ length: count }, (_, i) => frame(FRAME.PING, 0, 0, Buffer.alloc(8, i % 256))),
  'SETTINGS flood': (count) => Array.from({ length: count }, () => frame(FRAME.SETTINGS, 0, 0)),
  // /echo reads the body until it ends, so the stream stays open while the empty frames arrive.
  'empty DATA flood': (count) => [frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, requestHeaders('POST', '/echo')), ...Array.from({ length: count }, () => frame(FRAME.DATA, 0, 1))],
  'CONTINUATION flood': (count) => {
    // Each CONTINUATION adds one literal header "a: b"; END_HEADERS never comes.
    const field = Buffer.from([0x00, 0x01, 0x61, 0x01, 0x62]);
    return [frame(FRAME.HEADERS, 0, 1, requestHeaders()), ...Array.from({ length: count }, () => frame(FRAME.CONTINUATION, 0, 1, field))];
  },
};
