// IP address text <-> 16-byte buffers as the ICMP engine takes them (IPv4 in the first 4 bytes).
import { isIP } from 'node:net';

/** Parses an IPv4 or IPv6 literal (no zone) into 16 bytes; throws RangeError on anything else. */
export function addressBytes(address: string): { family: 4 | 6; bytes: Uint8Array } {
  const bytes = new Uint8Array(16);
  const fam = isIP(address);
  if (fam === 4) {
    address.split('.').forEach((p, i) => (bytes[i] = Number(p)));
    return { family: 4, bytes };
  }
  if (fam !== 6) throw new RangeError(`not an IP address: ${address}`);
  let text = address;
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
