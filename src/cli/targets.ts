// Targets as users write them on a command line: read from a file or stdin (fping -f), generated
// from a network (fping -g), and told apart before any lookup: an IP literal, a host name for the
// resolver, or a string that is neither (which never costs a DNS round trip).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { UsageError } from './args';

/** RFC 1123 2.1 host name: dot-separated labels of letters, digits and hyphens, 63 bytes each, 253 in all; a trailing dot allowed. */
export function isHostName(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  // A last label of digits only is a mistyped address (1.2.3.999), not a name: top-level domains are not numeric (RFC 3696 2).
  if (/^\d+$/.test(labels[labels.length - 1])) return false;
  return labels.every((l) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(l));
}

/** Why `s` is not something to resolve, or undefined when it is an IP literal or a host name. */
export function notAHost(s: string): string | undefined {
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (isIP(bare) || isHostName(bare)) return undefined;
  return `${JSON.stringify(s)} is neither an IP address nor a host name`;
}

/** Targets listed one a line (fping -f): blanks around them and lines starting with '#' are skipped. */
export function parseTargetList(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  // A loop, not split(): a million lines stay one pass with no intermediate array of lines.
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    if (line !== '' && !line.startsWith('#')) out.push(line.split(/\s/, 1)[0]);
    start = end + 1;
  }
  return out;
}

/** Reads a target list from FILE, or from stdin for "-". */
export function readTargetFile(file: string): string[] {
  try {
    return parseTargetList(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (err) {
    throw new UsageError(`-f ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Addresses a -g network holds at most (2^24: an IPv4 /8). */
export const MAX_GENERATED = 1 << 24;

function v4ToInt(s: string): number {
  return s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function intToV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * The hosts of an IPv4 network "A.B.C.D/LEN" (fping -g): without the network and broadcast
 * addresses, except for /31 and /32 (RFC 3021), or of a range "A.B.C.D-E.F.G.H".
 */
export function generateTargets(spec: string): string[] {
  const range = /^(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)$/.exec(spec);
  let first: number;
  let last: number;
  if (range) {
    if (isIP(range[1]) !== 4 || isIP(range[2]) !== 4) throw new UsageError(`-g: got ${JSON.stringify(spec)}, expected IPv4 addresses in a range A.B.C.D-E.F.G.H`);
    first = v4ToInt(range[1]);
    last = v4ToInt(range[2]);
    if (last < first) throw new UsageError(`-g: got ${JSON.stringify(spec)}, the range ends before it starts`);
  } else {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(spec);
    if (!m || isIP(m[1]) !== 4 || Number(m[2]) > 32) throw new UsageError(`-g: got ${JSON.stringify(spec)}, expected an IPv4 network A.B.C.D/LEN (LEN 8 to 32) or a range A.B.C.D-E.F.G.H`);
    const len = Number(m[2]);
    if (len < 8) throw new UsageError(`-g: got /${len}, expected a prefix length from 8 to 32 (at most ${MAX_GENERATED} addresses)`);
    const size = 2 ** (32 - len);
    first = v4ToInt(m[1]) - (v4ToInt(m[1]) % size);
    last = first + size - 1;
    if (len < 31) {
      first++;
      last--;
    }
  }
  if (last - first + 1 > MAX_GENERATED) throw new UsageError(`-g: ${spec} holds ${last - first + 1} addresses, more than ${MAX_GENERATED}`);
  const out = new Array<string>(last - first + 1);
  for (let n = first; n <= last; n++) out[n - first] = intToV4(n);
  return out;
}
