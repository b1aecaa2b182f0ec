// mtr's report view of a trace: a Start:/HOST: header, then one line per TTL with Loss%, Snt, Last,
// Avg, Best, Wrst and StDev (ms), further addresses of a multipath hop on their own lines, and a
// note on hops whose loss does not continue (their own ICMP rate limit, not loss of the path).
import { hostname } from 'node:os';
import { summarizeAttribution } from '../attribution/trace_flows';
import type { Attribution, TraceFacts } from '../result';

/** ms with the precision the value needs, in at most 6 columns: 0.052, 1.23, 45.6, 1234 */
export function fmtRttMs(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  const v = seconds * 1000;
  return v < 10 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : v.toFixed(0);
}

/** mtr's "Start:" stamp: local time with its offset, 2026-12-01T22:40:12+0000 */
export function startStamp(d: Date): string {
  const off = -d.getTimezoneOffset();
  const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const local = new Date(d.getTime() + off * 60_000).toISOString().slice(0, 19);
  return `${local}${off >= 0 ? '+' : '-'}${pad(Math.trunc(off / 60))}${pad(off % 60)}`;
}

export interface ReportHeader {
  started: Date;
  /** the probe host's name (mtr prints it after HOST:) */
  host?: string;
}

export function formatTraceReport(target: string, address: string, t: TraceFacts, attribution?: ReadonlyMap<number, Attribution[]>, header?: ReportHeader): string {
  const width = Math.max(24, ...t.hops.flatMap((h) => h.addresses.map((a) => a.length + 2)));
  const cols = ['Loss%', 'Snt', 'Last', 'Avg', 'Best', 'Wrst', 'StDev'];
  const sizes = [7, 6, 7, 7, 7, 7, 7];
  const row = (vals: string[]) => vals.map((v, i) => v.padStart(sizes[i])).join('');
  let out = '';
  if (header) out += `Start: ${startStamp(header.started)}\n`;
  out += `HOST: ${(header?.host ?? hostname()).padEnd(width + 2)}${row(cols)}\n`;
  for (const h of t.hops) {
    const [first, ...more] = h.addresses;
    const r = h.rtt;
    out += `${String(h.ttl).padStart(3)}.|-- ${(first ?? '???').padEnd(width)}`;
    out += row([`${(h.loss * 100).toFixed(1)}%`, String(h.sent), fmtRttMs(h.last), fmtRttMs(r?.mean), fmtRttMs(r?.min), fmtRttMs(r?.max), fmtRttMs(r?.stddev)]).trimEnd();
    if (h.multipath) out += `  multipath: ${h.addresses.length} next hops`;
    if (h.rateLimited) out += '  rate-limited: loss does not continue';
    out += '\n';
    for (const a of more) out += `${' '.repeat(9)}${a}\n`;
    const lost = attribution?.get(h.ttl);
    if (lost && lost.length > 0) out += `${' '.repeat(9)}lost: ${summarizeAttribution(lost)}\n`;
  }
  const last = t.hops[t.hops.length - 1]?.ttl ?? 0;
  out += t.reached ? `reached ${address} (${target}) in ${last} hops over ${t.proto}` : `did not reach ${address} (${target}) over ${t.proto} (max TTL ${last} shown)`;
  out += `${t.flows > 1 ? `, ${t.flows} flows` : ''}; rtt in ms\n`;
  return out;
}
