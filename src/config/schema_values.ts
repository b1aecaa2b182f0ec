// Value kinds shared by modules and tasks that are more than a primitive: sizes, label names, and
// the shape of a target for each prober.
import { isIP } from 'node:net';
import { isScalar } from 'yaml';
import { scalarText, shown, str, type Decoder } from './schema';

// alecthomas/units Base2Bytes, as blackbox's body_size_limit: "1MB" = "1MiB" = 1048576.
const SIZE_UNITS: Record<string, number> = { B: 1 };
['K', 'M', 'G', 'T', 'P', 'E'].forEach((p, i) => {
  SIZE_UNITS[`${p}B`] = 1024 ** (i + 1);
  SIZE_UNITS[`${p}iB`] = 1024 ** (i + 1);
});
const SIZE = /^(?:\d+(?:\.\d+)?(?:[KMGTPE]i?B|B))+$/;
const SIZE_PART = /(\d+(?:\.\d+)?)([KMGTPE]i?B|B)/g;
const SIZE_EXPECTED = 'a size like "512KB" or "1MiB", or a number of bytes';

/** A byte size: a plain integer (bytes) or a Base2Bytes string. */
export const sizeBytes: Decoder<number> = (node, path, ctx) => {
  if (isScalar(node) && node.value === null) return undefined;
  if (isScalar(node) && typeof node.value === 'number') {
    if (Number.isInteger(node.value) && node.value >= 0) return node.value;
  } else {
    const s = scalarText(node);
    if (s !== undefined && SIZE.test(s)) {
      let total = 0;
      for (const m of s.matchAll(SIZE_PART)) total += Number(m[1]) * SIZE_UNITS[m[2]];
      return Math.floor(total);
    }
  }
  ctx.report(node, path, `got ${shown(node)}, expected ${SIZE_EXPECTED}`);
  return undefined;
};

export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const labelName = str({ pattern: LABEL_NAME, expected: 'a Prometheus label name matching [a-zA-Z_][a-zA-Z0-9_]*' });

// RFC 1123 host names (letters, digits, hyphens, dots; underscores tolerated as resolvers do).
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
const isHost = (h: string): boolean => isIP(h) !== 0 || HOSTNAME.test(h);

/** host:port or [v6]:port, as Go's net.SplitHostPort (blackbox's tcp prober requires the port). */
function tcpTarget(t: string): string | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(t);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || !isHost(host) || (m[1] !== undefined && isIP(m[1]) !== 6)) return 'host:port (e.g. "127.0.0.1:22" or "[::1]:22")';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return 'a port from 1 to 65535';
  return undefined;
}

/** blackbox's http prober prepends "http://" to a target without a scheme. */
function httpTarget(t: string): string | undefined {
  const expected = 'an http:// or https:// URL (or host[:port][/path])';
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(t) ? t : `http://${t}`;
  try {
    const u = new URL(withScheme);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return expected;
    return u.hostname === '' ? expected : undefined;
  } catch {
    return expected;
  }
}

function icmpTarget(t: string): string | undefined {
  return isHost(t) ? undefined : 'a host name or IP address (no port, no scheme)';
}

/** What a target must look like for each prober sonde can run; undefined when anything goes. */
export const TARGET_CHECKS: Record<string, ((t: string) => string | undefined) | undefined> = {
  http: httpTarget,
  tcp: tcpTarget,
  icmp: icmpTarget,
  trace: icmpTarget,
};
