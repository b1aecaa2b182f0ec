// Series every blackbox prober emits, plus sonde's failure-reason info series.
import type { ProbeRegistry as Registry } from './registry';
import type { ProbeResult } from '../../result';

/** FNV-1a 32-bit of a string's UTF-8 bytes, or of raw bytes. */
export function fnv32a(s: string | Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of typeof s === 'string' ? Buffer.from(s, 'utf8') : s) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The address in network byte order as Go's net.IP holds it after To4(): 4 bytes for IPv4 (and
 * IPv4-mapped IPv6), 16 for IPv6; a zone (%eth0) is dropped. Undefined when not an IP literal.
 */
export function ipBytes(address: string): Uint8Array | undefined {
  const ip = address.replace(/%.*$/, '');
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    return parts.every((p) => p <= 255) ? Uint8Array.from(parts) : undefined;
  }
  if (!ip.includes(':')) return undefined;
  let words: number[] = [];
  let tail = ip;
  const dotted = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip);
  if (dotted) {
    const b = ipBytes(dotted[1]);
    if (!b) return undefined;
    tail = ip.slice(0, dotted.index + 1) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = tail.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === '' ? [] : h.split(':').map((w) => (/^[0-9a-fA-F]{1,4}$/.test(w) ? parseInt(w, 16) : NaN)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  words = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest];
  if (words.some((w) => Number.isNaN(w))) return undefined;
  const bytes = Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.subarray(12) : bytes;
}

// Every /probe answer hashes its address, and the same addresses come back: each is hashed once.
const HASHES = new Map<string, number>();
const MAX_HASHES = 65536;

/** blackbox_exporter's probe_ip_addr_hash (prober/utils.go ipHash): FNV-1a over the address bytes, not its text. */
export function ipAddrHash(address: string): number {
  let h = HASHES.get(address);
  if (h === undefined) {
    h = fnv32a(ipBytes(address) ?? address);
    if (HASHES.size >= MAX_HASHES) HASHES.clear();
    HASHES.set(address, h);
  }
  return h;
}

export function gauge(reg: Registry, name: string, help: string, value: number, labels?: Record<string, string>): void {
  const g = reg.gauge(name, help, labels ? Object.keys(labels) : []);
  if (labels) g.set(labels, value);
  else g.set(value);
}

/** A gauge with several label sets (e.g. a phase histogram flattened as blackbox does). */
export function gaugeVec(reg: Registry, name: string, help: string, labelName: string, values: Record<string, number>): void {
  const g = reg.gauge(name, help, [labelName]);
  for (const [k, v] of Object.entries(values)) g.set({ [labelName]: k }, v);
}

/** Resolve-phase series, emitted by blackbox's http, tcp, icmp and dns probers alike. */
export function writeResolve(result: ProbeResult, reg: Registry): void {
  gauge(reg, 'probe_dns_lookup_time_seconds', 'Returns the time taken for probe dns lookup in seconds', result.dnsLookupSeconds ?? 0);
  if (result.ipProtocol !== undefined) {
    gauge(reg, 'probe_ip_protocol', 'Specifies whether probe ip protocol is IP4 or IP6', result.ipProtocol);
  }
  if (result.address !== undefined) {
    gauge(reg, 'probe_ip_addr_hash', 'Specifies the hash of IP address. It\'s useful to detect if the IP address changes.', ipAddrHash(result.address));
  }
}

export function writeCommon(result: ProbeResult, reg: Registry): void {
  gauge(reg, 'probe_success', 'Displays whether or not the probe was a success', result.success ? 1 : 0);
  gauge(reg, 'probe_duration_seconds', 'Returns how long the probe took to complete in seconds', result.durationSeconds);
  if (!result.success && result.reason) {
    gauge(reg, 'sonde_probe_failure_reason', 'Why the probe failed: one reason from sonde\'s closed set (docs/reasons.md)', 1, { reason: result.reason });
  }
}
