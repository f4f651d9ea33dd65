// The request's client address. It starts as the TCP peer, or as the address from the PROXY
// protocol header the master read. When that address is a trusted proxy, X-Forwarded-For is
// read from the right, and the rightmost address that is not a trusted proxy is the client.
// Every hop to its right was added by a trusted proxy; everything to its left is the client's
// own claim. The result is `req.clientAddress`, for the application and the logs.
import { isIP, type Socket } from 'node:net';
import { CidrSet, type ClientAddress } from '@aerys-cluster/shared';

declare module 'node:http' {
  interface IncomingMessage {
    /** The client's address after PROXY protocol and trusted X-Forwarded-For; set by aerys-cluster. */
    clientAddress?: string;
  }
}

declare module 'node:http2' {
  interface Http2ServerRequest {
    /** The client's address after PROXY protocol and trusted X-Forwarded-For; set by aerys-cluster. */
    clientAddress?: string;
  }
}

/**
 * Client addresses from PROXY protocol headers, by the TCP peer (the proxy's address and port).
 * Keyed by peer rather than by socket object, because TLS and HTTP/2 requests expose wrappers or
 * proxies of the TCP socket, and all of them report the same remote address and port.
 */
const proxiedClients = new Map<string, ClientAddress>();

function peerKey(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
}

/** Records the client address the master read from a PROXY protocol header, until the socket closes. */
export function setProxiedClient(socket: Socket, client: ClientAddress): void {
  const key = peerKey(socket);
  proxiedClients.set(key, client);
  socket.once('close', () => proxiedClients.delete(key));
}

/** Returns the PROXY protocol client of a connection, if its listener uses the protocol. */
export function proxiedClient(socket: { remoteAddress?: string; remotePort?: number }): ClientAddress | undefined {
  return proxiedClients.get(peerKey(socket));
}

/** Strips an IPv4-mapped prefix and, from one X-Forwarded-For entry, brackets and a port. */
function normalize(entry: string): string | null {
  let text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed?.[1]) text = bracketed[1];
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  if (text.toLowerCase().startsWith('::ffff:') && isIP(text.slice(7)) === 4) text = text.slice(7);
  return isIP(text) === 0 ? null : text;
}

/**
 * Returns the client address of a request: the peer (or PROXY protocol) address, replaced by the
 * rightmost untrusted X-Forwarded-For entry when the peer is a trusted proxy. An entry that is
 * not an IP address ends the walk, and the last trusted hop is returned, since a malformed
 * entry cannot be attributed to anyone.
 */
export function resolveClientAddress(peer: string, forwardedFor: string | string[] | undefined, trusted: CidrSet): string {
  const start = normalize(peer) ?? peer;
  if (forwardedFor === undefined || !trusted.has(start)) return start;

  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let current = start;
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = normalize(entries[i] ?? '');
    if (address === null) return current;
    current = address;
    if (!trusted.has(address)) return address;
  }
  return current;
}

/** The request fields the client address is computed from, for HTTP/1.1 and HTTP/2 alike. */
interface RequestLike {
  socket: { remoteAddress?: string; remotePort?: number } | null;
  headers: Record<string, string | string[] | undefined>;
  clientAddress?: string;
}

/** Wraps a request listener so `req.clientAddress` is set before it runs. */
export function withClientAddress<Req extends RequestLike, Res>(listener: (req: Req, res: Res) => void, trustedProxies: readonly string[]): (req: Req, res: Res) => void {
  const trusted = new CidrSet([...trustedProxies]);
  return (req, res) => {
    const socket = req.socket;
    const peer = (socket && proxiedClient(socket)?.address) ?? socket?.remoteAddress ?? '';
    req.clientAddress = resolveClientAddress(peer, req.headers['x-forwarded-for'], trusted);
    listener(req, res);
  };
}
