// PROXY protocol v1 and v2 (HAProxy's "The PROXY protocol", versions 1 and 2), read by the master
// on listeners with `proxyProtocol: true`. These are the only bytes the master ever reads from a
// client connection: admission needs the real client address before the hand-off. Bytes read
// past the header travel to the worker with the socket.
import { isIP, type Socket } from 'node:net';
import type { ClientAddress } from '@aerys-cluster/shared';

/** The 12-byte signature that starts every v2 header. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** A v1 header is at most 107 bytes, CRLF included. */
const V1_MAX_LENGTH = 107;
/** Signature, version/command, family/protocol and the 2-byte length. */
const V2_FIXED_LENGTH = 16;
/** Upper bound on the v2 address block with TLVs, so a header cannot make the master buffer much. */
const V2_MAX_BODY = 2048;

export interface ProxyHeader {
  /** The original client, or null for a LOCAL (v2) or UNKNOWN (v1) header: a proxy's own check. */
  client: ClientAddress | null;
  /** Bytes after the header, which belong to the client's first request. */
  rest: Buffer;
}

export class ProxyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyProtocolError';
  }
}

type ParseResult = ProxyHeader | 'incomplete';

function parseV1(data: Buffer): ParseResult {
  const end = data.indexOf('\r\n');
  if (end === -1) {
    if (data.length >= V1_MAX_LENGTH) throw new ProxyProtocolError('v1 header has no CRLF within 107 bytes');
    return 'incomplete';
  }
  const fields = data.subarray(0, end).toString('latin1').split(' ');
  const rest = data.subarray(end + 2);
  if (fields[1] === 'UNKNOWN') return { client: null, rest };

  const [, family, source, , sourcePort] = fields;
  if (fields.length !== 6 || (family !== 'TCP4' && family !== 'TCP6') || !source || !sourcePort) {
    throw new ProxyProtocolError('v1 header is not "PROXY TCP4|TCP6 SRC DST SPORT DPORT"');
  }
  const port = Number(sourcePort);
  if (!/^\d{1,5}$/.test(sourcePort) || port > 65535) throw new ProxyProtocolError('v1 header has an invalid source port');
  if (isIP(source) !== (family === 'TCP4' ? 4 : 6)) throw new ProxyProtocolError('v1 header has an invalid source address');
  return { client: { address: source, port }, rest };
}

function formatIPv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

function parseV2(data: Buffer): ParseResult {
  if (data.length < V2_FIXED_LENGTH) return 'incomplete';
  const versionCommand = data[12] ?? 0;
  const familyProtocol = data[13] ?? 0;
  const length = data.readUInt16BE(14);
  if (versionCommand >> 4 !== 2) throw new ProxyProtocolError('v2 header has a version other than 2');
  if (length > V2_MAX_BODY) throw new ProxyProtocolError(`v2 header announces ${length} bytes, more than ${V2_MAX_BODY}`);
  if (data.length < V2_FIXED_LENGTH + length) return 'incomplete';

  const body = data.subarray(V2_FIXED_LENGTH, V2_FIXED_LENGTH + length);
  const rest = data.subarray(V2_FIXED_LENGTH + length);
  const command = versionCommand & 0x0f;
  if (command === 0x0) return { client: null, rest };
  if (command !== 0x1) throw new ProxyProtocolError('v2 header has a command other than LOCAL or PROXY');

  // High nibble: address family (1 = IPv4, 2 = IPv6); low nibble: 1 = STREAM (TCP).
  if (familyProtocol === 0x11) {
    if (body.length < 12) throw new ProxyProtocolError('v2 IPv4 address block is shorter than 12 bytes');
    return { client: { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) }, rest };
  }
  if (familyProtocol === 0x21) {
    if (body.length < 36) throw new ProxyProtocolError('v2 IPv6 address block is shorter than 36 bytes');
    return { client: { address: formatIPv6(body.subarray(0, 16)), port: body.readUInt16BE(32) }, rest };
  }
  // UNSPEC or a non-TCP family: the connection is accepted, the proxy's address stays.
  return { client: null, rest };
}

/** Parses a PROXY header at the start of `data`; throws ProxyProtocolError when it is invalid. */
export function parseProxyHeader(data: Buffer): ParseResult {
  const v2Prefix = data.subarray(0, Math.min(data.length, V2_SIGNATURE.length));
  if (v2Prefix.equals(V2_SIGNATURE.subarray(0, v2Prefix.length))) {
    return data.length < V2_SIGNATURE.length ? 'incomplete' : parseV2(data);
  }
  const v1Prefix = data.subarray(0, Math.min(data.length, 6));
  if (v1Prefix.equals(Buffer.from('PROXY ').subarray(0, v1Prefix.length))) {
    return data.length < 6 ? 'incomplete' : parseV1(data);
  }
  throw new ProxyProtocolError('connection does not start with a PROXY protocol header');
}

/**
 * Reads a PROXY header from a socket accepted with pauseOnConnect, then stops reading so the
 * descriptor can go to a worker. Rejects with ProxyProtocolError on an invalid header and on
 * timeout; the caller closes the socket.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new ProxyProtocolError(`no complete PROXY header within ${timeoutMs} ms`)), timeoutMs);

    const finish = (outcome: ProxyHeader | Error): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      stopReading(socket);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onEnd = (): void => finish(new ProxyProtocolError('connection closed before the PROXY header was complete'));
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      try {
        const result = parseProxyHeader(buffered);
        if (result !== 'incomplete') finish(result);
      } catch (error) {
        finish(error instanceof Error ? error : new ProxyProtocolError(String(error)));
      }
    };

    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}

/**
 * Stops the handle from reading, synchronously and for good. A paused stream still reads from
 * the kernel (its maybeReadMore step calls _read while the buffer is below highWaterMark), and
 * bytes the master reads after this point would never reach the worker. So _read becomes a no-op
 * and, as Node offers no public call for it, the libuv handle's readStop ends the current read.
 */
function stopReading(socket: Socket): void {
  socket.pause();
  socket._read = noRead;
  const handle = (socket as unknown as { _handle?: { readStop?: () => number; reading?: boolean } })._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
}

function noRead(): void {
  // The worker reads this connection from here on.
}
