// Sets of IP addresses as sorted, disjoint, inclusive intervals per family (addresses as bigint), and
// the address syntax the scanner takes everywhere (targets, `--exclude` files, `scan.allow` and
// `scan.exclude`): a single address, a CIDR (v4 or v6; host bits are ignored, as nmap and masscan
// do) or a range FIRST-LAST of one family (masscan's syntax). A /8 or an IPv6 /64 is one interval,
// never a list of addresses.
import { isIP } from 'node:net';
import { addressBytes, formatAddress } from '../native/ipaddr';

export type Family = 4 | 6;

export interface Interval {
  lo: bigint;
  hi: bigint;
}

export class AddressSyntaxError extends Error {
  readonly code = 'ERR_ADDRESS_SYNTAX';
  constructor(
    message: string,
    readonly token: string,
  ) {
    super(message);
    this.name = 'AddressSyntaxError';
  }
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function toBigInt(address: string): { family: Family; value: bigint } {
  const { family, bytes } = addressBytes(address);
  let v = 0n;
  for (let i = 0; i < (family === 4 ? 4 : 16); i++) v = (v << 8n) | BigInt(bytes[i]);
  return { family, value: v };
}

export function fromBigInt(value: bigint, family: Family): string {
  const bytes = new Uint8Array(16);
  const n = family === 4 ? 4 : 16;
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return formatAddress(bytes, family);
}

/** One address, CIDR or range: its family and interval. Throws AddressSyntaxError naming `token`. */
export function parseAddressSpec(token: string): { family: Family; interval: Interval } {
  const t = token.trim();
  const slash = t.indexOf('/');
  if (slash >= 0) {
    const base = t.slice(0, slash);
    const lenText = t.slice(slash + 1);
    const fam = isIP(base) as 0 | Family;
    if (fam === 0) throw new AddressSyntaxError(`${JSON.stringify(token)}: ${JSON.stringify(base)} is not an IP address (a CIDR is ADDRESS/LEN)`, token);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > BITS[fam]) throw new AddressSyntaxError(`${JSON.stringify(token)}: prefix length ${JSON.stringify(lenText)} is not from 0 to ${BITS[fam]}`, token);
    const hostBits = BigInt(BITS[fam] - Number(lenText));
    const lo = (toBigInt(base).value >> hostBits) << hostBits;
    return { family: fam, interval: { lo, hi: lo + (1n << hostBits) - 1n } };
  }
  const dash = t.indexOf('-');
  if (dash > 0) {
    const a = t.slice(0, dash);
    const b = t.slice(dash + 1);
    const fa = isIP(a) as 0 | Family;
    const fb = isIP(b) as 0 | Family;
    if (fa === 0 || fb === 0) throw new AddressSyntaxError(`${JSON.stringify(token)}: a range is FIRST-LAST, two full addresses of one family (${JSON.stringify(fa === 0 ? a : b)} is not an address)`, token);
    if (fa !== fb) throw new AddressSyntaxError(`${JSON.stringify(token)}: the range mixes IPv4 and IPv6`, token);
    const lo = toBigInt(a).value;
    const hi = toBigInt(b).value;
    if (hi < lo) throw new AddressSyntaxError(`${JSON.stringify(token)}: the range ends before it starts`, token);
    return { family: fa, interval: { lo, hi } };
  }
  const fam = isIP(t) as 0 | Family;
  if (fam === 0) throw new AddressSyntaxError(`${JSON.stringify(token)} is not an IP address, CIDR or range`, token);
  const v = toBigInt(t).value;
  return { family: fam, interval: { lo: v, hi: v } };
}

/** Whether `token` has the shape of an address spec (so a parse error is worth reporting as one, not as a host name). */
export function looksLikeAddressSpec(token: string): boolean {
  // Host names have no ':' or '/', and never end in a numeric label (RFC 3696 2).
  return token.includes(':') || token.includes('/') || /^[\d.]+(?:-.*)?$/.test(token) || isIP(token.split('-')[0]) !== 0;
}

/** An address set of one family: sorted, disjoint, non-adjacent intervals. */
export class AddressSet {
  private intervals: Interval[] = [];

  constructor(readonly family: Family) {}

  add(iv: Interval): void {
    this.intervals.push({ ...iv });
    this.normalize();
  }

  addAll(ivs: Iterable<Interval>): void {
    for (const iv of ivs) this.intervals.push({ ...iv });
    this.normalize();
  }

  private normalize(): void {
    const sorted = this.intervals.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    const out: Interval[] = [];
    for (const iv of sorted) {
      const last = out[out.length - 1];
      if (last && iv.lo <= last.hi + 1n) {
        if (iv.hi > last.hi) last.hi = iv.hi;
      } else out.push(iv);
    }
    this.intervals = out;
  }

  /** The parts of `iv` this set does not hold. */
  missing(iv: Interval): Interval[] {
    const out: Interval[] = [];
    let cur = iv.lo;
    for (const s of this.intervals) {
      if (s.hi < cur) continue;
      if (s.lo > iv.hi) break;
      if (s.lo > cur) out.push({ lo: cur, hi: s.lo - 1n });
      cur = s.hi + 1n;
      if (cur > iv.hi) return out;
    }
    if (cur <= iv.hi) out.push({ lo: cur, hi: iv.hi });
    return out;
  }

  /** This set without the addresses of `other` (same family). */
  subtract(other: AddressSet): AddressSet {
    const out = new AddressSet(this.family);
    out.intervals = this.intervals.flatMap((iv) => other.missing(iv));
    return out;
  }

  has(address: bigint): boolean {
    return this.missing({ lo: address, hi: address }).length === 0;
  }

  get size(): bigint {
    let n = 0n;
    for (const iv of this.intervals) n += iv.hi - iv.lo + 1n;
    return n;
  }

  list(): readonly Interval[] {
    return this.intervals;
  }
}

/** A pair of sets, one per family, for lists that mix them (allow, exclude). */
export class DualSet {
  readonly v4 = new AddressSet(4);
  readonly v6 = new AddressSet(6);

  of(family: Family): AddressSet {
    return family === 4 ? this.v4 : this.v6;
  }

  /** Adds every spec; throws AddressSyntaxError on the first bad one. */
  static from(specs: Iterable<string>): DualSet {
    const s = new DualSet();
    for (const spec of specs) {
      const { family, interval } = parseAddressSpec(spec);
      s.of(family).add(interval);
    }
    return s;
  }

  /** Whether the address (text) is in the set. */
  hasAddress(address: string): boolean {
    const { family, value } = toBigInt(address);
    return this.of(family).has(value);
  }
}

/** Text of an interval: one address, or FIRST-LAST. */
export function formatInterval(iv: Interval, family: Family): string {
  return iv.lo === iv.hi ? fromBigInt(iv.lo, family) : `${fromBigInt(iv.lo, family)}-${fromBigInt(iv.hi, family)}`;
}
