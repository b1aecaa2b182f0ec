// nmap's port syntax (`-p 22,80,8000-8100`, `-p-` for every port, `-p -1024` and `-p 60000-` for
// open-ended ranges): parsed into the sorted, disjoint, inclusive ranges the SYN engine takes
// (src/native/syn_types.ts PortRange), overlaps and neighbours merged. A bad token is named in the
// error, never skipped. nmap's protocol prefixes (T:, U:) and service names are refused: the scanner
// sends TCP SYNs only and keeps no services table.
import type { PortRange } from '../native/syn_types';

export class PortSyntaxError extends Error {
  readonly code = 'ERR_PORT_SYNTAX';
  constructor(
    message: string,
    /** the token at fault, as typed */
    readonly token: string,
  ) {
    super(message);
    this.name = 'PortSyntaxError';
  }
}

export const MAX_PORT = 65535;

function port(text: string, token: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new PortSyntaxError(`port ${JSON.stringify(token)}: expected a port number, a range LO-HI, or - for every port`, token);
  const n = Number(text);
  if (n < 1 || n > MAX_PORT) throw new PortSyntaxError(`port ${JSON.stringify(token)}: ${n} is not from 1 to ${MAX_PORT}`, token);
  return n;
}

/** Sorted, merged ranges: [1,5],[3,9],[10,12] become [1,12] (adjacent ranges join too). */
export function mergeRanges(ranges: Iterable<PortRange>): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Parses nmap port syntax; "-" alone is 1-65535 (`-p-`). Throws PortSyntaxError naming the bad token. */
export function parsePorts(spec: string): PortRange[] {
  const text = spec.trim();
  if (text === '') throw new PortSyntaxError('no ports given (e.g. -p 22,80,443, -p 8000-8100, -p- for all)', spec);
  const ranges: PortRange[] = [];
  for (const raw of text.split(',')) {
    const token = raw.trim();
    if (token === '') throw new PortSyntaxError(`empty port in ${JSON.stringify(spec)} (two commas, or one at an end)`, raw);
    if (/^[a-z]:/i.test(token)) throw new PortSyntaxError(`port ${JSON.stringify(token)}: protocol prefixes (T:, U:) are not supported; the scan is TCP SYN only`, token);
    const dash = token.indexOf('-');
    if (dash < 0) {
      const p = port(token, token);
      ranges.push([p, p]);
      continue;
    }
    // nmap: "-" is 1-65535, "-100" is 1-100, "60000-" is 60000-65535.
    const lo = dash === 0 ? 1 : port(token.slice(0, dash), token);
    const hi = dash === token.length - 1 ? MAX_PORT : port(token.slice(dash + 1), token);
    if (hi < lo) throw new PortSyntaxError(`port range ${JSON.stringify(token)} ends before it starts`, token);
    ranges.push([lo, hi]);
  }
  return mergeRanges(ranges);
}

/** How many ports the ranges hold. */
export function portCount(ranges: readonly PortRange[]): number {
  let n = 0;
  for (const [lo, hi] of ranges) n += hi - lo + 1;
  return n;
}

/** Whether `p` is in the ranges (sorted, disjoint: binary search). */
export function hasPort(ranges: readonly PortRange[], p: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (p < ranges[mid][0]) hi = mid - 1;
    else if (p > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The ranges back in nmap syntax ("22,80,8000-8100"). */
export function formatPorts(ranges: readonly PortRange[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(',');
}

/** Every port of the ranges, in order (for small lists: a probe's ports). */
export function listPorts(ranges: readonly PortRange[]): number[] {
  const out: number[] = [];
  for (const [lo, hi] of ranges) for (let p = lo; p <= hi; p++) out.push(p);
  return out;
}
