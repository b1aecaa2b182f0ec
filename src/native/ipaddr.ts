// IP address text <-> bytes: 16-byte buffers as the native engines take them (IPv4 in the first 4
// bytes), and Go's net.IP form for blackbox's address hash. sonde's only IP address parser and
// formatter in TypeScript: everything else asks node:net isIP() or these.
import { isIP } from 'node:net';

/**
 * Parses an IPv4 or IPv6 literal into 16 bytes; an IPv6 zone (fe80::1%eth0) is dropped (the
 * engines take it as a scope id). Throws RangeError on anything else.
 */
export function addressBytes(address: string): { family: 4 | 6; bytes: Uint8Array } {
  const bytes = new Uint8Array(16);
  const fam = isIP(address);
  if (fam === 4) {
    address.split('.').forEach((p, i) => (bytes[i] = Number(p)));
    return { family: 4, bytes };
  }
  if (fam !== 6) throw new RangeError(`not an IP address: ${address}`);
  const zone = address.indexOf('%');
  let text = zone < 0 ? address : address.slice(0, zone);
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const dot = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dot) {
    const q = dot[1].split('.').map(Number);
    text = text.slice(0, dot.index) + `${((q[0] << 8) | q[1]).toString(16)}:${((q[2] << 8) | q[3]).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups = tail === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[i * 2] = v >> 8;
    bytes[i * 2 + 1] = v & 0xff;
  });
  return { family: 6, bytes };
}

/** Formats 16 bytes as an address of the family, IPv6 in RFC 5952 form. */
export function formatAddress(bytes: Uint8Array, family: number): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[i * 2] << 8) | bytes[i * 2 + 1]);
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((v) => v.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/**
 * The address as Go's net.IP holds it after To4(): 4 bytes for IPv4 and IPv4-mapped IPv6, 16 for
 * other IPv6, zone dropped (blackbox_exporter hashes these bytes). undefined: not an IP literal.
 */
export function goIPBytes(address: string): Uint8Array | undefined {
  if (isIP(address) === 0) return undefined;
  const { family, bytes } = addressBytes(address);
  if (family === 4) return bytes.subarray(0, 4);
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.subarray(12) : bytes;
}
