// Value kinds shared by modules and tasks that are more than a primitive: sizes, label names, and
// host names (the target shapes probers check build on it).
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
export const isHost = (h: string): boolean => isIP(h) !== 0 || HOSTNAME.test(h);

/** A target that is a host alone (icmp, trace); each prober's check is in its descriptor. */
export function hostTarget(t: string): string | undefined {
  return isHost(t) ? undefined : 'a host name or IP address (no port, no scheme)';
}
