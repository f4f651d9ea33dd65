// IP address parsing, prefix grouping for per-client limits, and CIDR matching for trusted proxies.
// Addresses are handled as byte arrays so IPv4 and IPv6 share one masking routine.
import { isIP } from 'node:net';

/** A parsed address: 4 bytes for IPv4 (including IPv4-mapped IPv6), 16 for IPv6. */
export interface ParsedAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** A CIDR block such as 10.0.0.0/8 or 2001:db8::/32. */
export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
  text: string;
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;

  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? '';
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseIPv6(text: string): Uint8Array | undefined {
  // A zone index (fe80::1%eth0) does not change which client an address belongs to.
  const zone = text.indexOf('%');
  const address = zone === -1 ? text : text.slice(0, zone);
  if (isIP(address) !== 6) return undefined;

  const bytes = new Uint8Array(16);
  let head = address;
  let tail = '';
  const gap = address.indexOf('::');
  if (gap !== -1) {
    head = address.slice(0, gap);
    tail = address.slice(gap + 2);
  }

  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');

  // An embedded IPv4 tail (::ffff:1.2.3.4) takes the place of the last two groups.
  const groupsFrom = (groups: string[]): number[] => {
    const words: number[] = [];
    for (const group of groups) {
      if (group.includes('.')) {
        const v4 = parseIPv4(group);
        if (!v4) return [];
        words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        words.push(parseInt(group, 16));
      }
    }
    return words;
  };

  const headWords = groupsFrom(headGroups);
  const tailWords = groupsFrom(tailGroups);
  const words = [...headWords, ...new Array<number>(8 - headWords.length - tailWords.length).fill(0), ...tailWords];
  if (words.length !== 8) return undefined;

  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

function isIPv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Parses an IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) become IPv4,
 * so a dual-stack listener counts a client the same way as an IPv4 listener does.
 */
export function parseAddress(text: string): ParsedAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };

  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  if (isIPv4Mapped(v6)) return { family: 4, bytes: v6.slice(12) };
  return { family: 6, bytes: v6 };
}

function maskedHex(bytes: Uint8Array, prefix: number): string {
  let out = '';
  const fullBytes = prefix >> 3;
  for (let i = 0; i < fullBytes; i++) out += (bytes[i] ?? 0).toString(16).padStart(2, '0');
  const rest = prefix & 7;
  if (rest !== 0) {
    const mask = (0xff << (8 - rest)) & 0xff;
    out += ((bytes[fullBytes] ?? 0) & mask).toString(16).padStart(2, '0');
  }
  return out;
}

/**
 * Returns the key of the address's prefix bucket, for example "4/10.0.0.1/32" or
 * "6/20010db8000012/56". Addresses that do not parse get a bucket of their own text, so a
 * malformed peer address is still limited.
 */
export function prefixKey(address: string, ipv4Prefix: number, ipv6Prefix: number): string {
  const parsed = parseAddress(address);
  if (!parsed) return `raw/${address}`;
  if (parsed.family === 4) {
    if (ipv4Prefix === 32) return `4/${Array.from(parsed.bytes).join('.')}`;
    return `4/${maskedHex(parsed.bytes, ipv4Prefix)}/${ipv4Prefix}`;
  }
  return `6/${maskedHex(parsed.bytes, ipv6Prefix)}/${ipv6Prefix}`;
}

/** Parses "a.b.c.d/n", "x::y/n" or a bare address (a /32 or /128 block); undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const parsed = parseAddress(addressText);
  if (!parsed) return undefined;

  // A mapped address written with an IPv6 prefix length (::ffff:10.0.0.0/104) is an IPv4 block.
  const mapped = parsed.family === 4 && addressText.includes(':');
  const maxPrefix = parsed.family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (mapped) prefix -= 96;
    if (prefix < 0 || prefix > maxPrefix) return undefined;
  }
  return { family: parsed.family, bytes: parsed.bytes, prefix, text };
}

function matchesCidr(address: ParsedAddress, cidr: Cidr): boolean {
  if (address.family !== cidr.family) return false;
  return maskedHex(address.bytes, cidr.prefix) === maskedHex(cidr.bytes, cidr.prefix);
}

/** A set of CIDR blocks with a membership test; the list is short, so a linear scan is fine. */
export class CidrSet {
  readonly blocks: readonly Cidr[];

  constructor(blocks: readonly string[]) {
    this.blocks = blocks.map((text) => {
      const cidr = parseCidr(text);
      if (!cidr) throw new TypeError(`Invalid CIDR block: ${JSON.stringify(text)}`);
      return cidr;
    });
  }

  get size(): number {
    return this.blocks.length;
  }

  has(address: string): boolean {
    if (this.blocks.length === 0) return false;
    const parsed = parseAddress(address);
    if (!parsed) return false;
    return this.blocks.some((block) => matchesCidr(parsed, block));
  }
}

/** Formats host and port as a URL authority, bracketing IPv6 literals. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for addresses in 127.0.0.0/8, ::1 and the names that resolve to them here. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const parsed = parseAddress(host);
  if (!parsed) return false;
  if (parsed.family === 4) return parsed.bytes[0] === 127;
  return parsed.bytes.every((byte, i) => (i === 15 ? byte === 1 : byte === 0));
}
