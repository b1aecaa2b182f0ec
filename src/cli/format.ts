// Human output of one probe: an httpstat-like phase bar, TLS facts, and the verdict with its reason.
import type { ProbeResult, TLSFacts } from '../result';

const PHASE_TITLES: Record<string, string> = {
  resolve: 'DNS Lookup',
  connect: 'TCP Connection',
  tls: 'TLS Handshake',
  processing: 'Server Processing',
  transfer: 'Content Transfer',
  dialogue: 'Dialogue',
  setup: 'Setup',
  rtt: 'Round Trip',
  scan: 'SYN Scan',
};

/** A duration in the unit that suits it, rounded first so that 0.9996 ms is "1.0ms", never "1000µs". */
export function formatDuration(seconds: number): string {
  const us = seconds * 1e6;
  if (Math.round(us) < 1000) return `${Math.round(us)}µs`;
  const v = seconds * 1000;
  if (Number(v.toFixed(1)) < 100) return `${v.toFixed(1)}ms`;
  if (Math.round(v) < 1000) return `${Math.round(v)}ms`;
  return v < 9995 ? `${(v / 1000).toFixed(2)}s` : `${(v / 1000).toFixed(1)}s`;
}

const ms = formatDuration;

function date(unix: number): string {
  return new Date(unix * 1000).toISOString().replace('.000Z', 'Z');
}

function phaseBar(phases: Record<string, number>): string {
  const names = Object.keys(phases);
  if (names.length === 0) return '';
  const cols = names.map((n) => {
    const title = PHASE_TITLES[n] ?? n;
    return { title, value: ms(phases[n]), width: Math.max(title.length, 7) + 2 };
  });
  const head = cols.map((c) => c.title.padStart(Math.floor((c.width + c.title.length) / 2)).padEnd(c.width)).join(' ');
  const vals = cols.map((c) => c.value.padStart(Math.floor((c.width + c.value.length) / 2)).padEnd(c.width)).join('|');
  let total = 0;
  const cum = names
    .map((n) => {
      total += phases[n];
      return `${(PHASE_TITLES[n] ?? n).toLowerCase()}:${ms(total)}`;
    })
    .join('  ');
  return `  ${head}\n[ ${vals} ]\n  cumulative  ${cum}\n`;
}

function tlsLines(tls: TLSFacts): string {
  const now = Date.now() / 1000;
  const days = Math.floor((tls.earliestExpiry - now) / 86400);
  let s = `TLS: ${tls.version}, ${tls.cipher}; earliest certificate expiry ${date(tls.earliestExpiry)} (${days} days)\n`;
  tls.chain.forEach((c, i) => {
    s += `  [${i}] ${c.subject}  issuer: ${c.issuer}  valid ${date(c.notBefore)} .. ${date(c.notAfter)}\n`;
  });
  if (tls.ocsp) s += `  OCSP: ${tls.ocsp.status}${tls.ocsp.nextUpdate ? `, next update ${date(tls.ocsp.nextUpdate)}` : ''}\n`;
  return s;
}

export function formatResult(r: ProbeResult, color: boolean): string {
  const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  let out = `${r.target}${r.address ? ` (${r.address}, IPv${r.ipProtocol})` : ''}  module ${r.module}\n`;
  if (r.http?.statusCode) out += `HTTP/${r.http.version} ${r.http.statusCode}${r.http.redirects ? ` after ${r.http.redirects} redirect(s)` : ''}\n`;
  if (r.http && r.http.hops.length > 1) {
    for (const h of r.http.hops) out += `  hop ${h.url} -> ${h.statusCode ?? '-'}\n`;
  }
  out += phaseBar(r.phases);
  if (r.tls) out += tlsLines(r.tls);
  if (r.icmp) {
    const i = r.icmp;
    out += `ICMP: ${i.sent} sent, ${i.received} received, ${(i.loss * 100).toFixed(1)}% loss, ${i.duplicates} duplicates`;
    out += i.rtt ? `; rtt min/median/mean/max/stddev ${[i.rtt.min, i.rtt.median, i.rtt.mean, i.rtt.max, i.rtt.stddev].map(ms).join('/')}\n` : '\n';
  }
  if (r.tcpSyn) {
    const t = r.tcpSyn;
    out += `ports: ${t.open} open, ${t.closed} closed, ${t.filtered} filtered (${t.sent} SYNs sent)\n`;
    for (const p of t.ports) out += `  ${`${p.port}/tcp`.padEnd(10)} ${p.state.padEnd(8)} ${p.reason}${p.ttl !== undefined ? ` ttl ${p.ttl}` : ''}${p.rtt !== undefined ? ` ${ms(p.rtt)}` : ''}\n`;
  }
  for (const a of r.attribution ?? []) {
    out += `  lost${a.seq !== undefined ? ` seq ${a.seq}` : ''}: ${a.verdict}${a.reason ? ` ${a.reason}` : ''}${a.direction ? ` ${a.direction}` : ''}${a.location ? ` at ${a.location}` : ''}\n`;
  }
  out += r.success
    ? `${paint(32, 'success')} in ${ms(r.durationSeconds)}\n`
    : `${paint(31, `failed: ${r.reason}`)} in ${ms(r.durationSeconds)}${r.message ? ` (${r.message})` : ''}\n`;
  return out;
}
