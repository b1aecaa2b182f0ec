// What `sonde scan` prints: rows streamed as results arrive (ndjson, a JSON array written element
// by element, csv, or "Discovered open port" lines), and at the end the nmap-like table per host,
// nmap's grepable lines (-oG) and the summary. Text only: scan.ts writes it with backpressure.
import type { ScanHit, ScanSummary } from '../native/syn_types';
import { resultToJSON } from '../outputs/json';
import type { Attribution, ProbeResult } from '../result';
import { formatDuration } from './format';
import type { ScanFormat } from './scan_args';
import { toBigInt } from '../scan/addrset';

/** One reported port, with the verdict of its --then probe when there was one. */
export interface ScanRow {
  hit: ScanHit;
  then?: ProbeResult;
  /** --explain: where a port filtered by silence lost its SYN or reply */
  explain?: Attribution;
}

// nmap-services names of the ports people scan most, for the SERVICE field of -oG.
const SERVICES: Record<number, string> = {
  21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'domain', 80: 'http', 110: 'pop3', 111: 'rpcbind', 143: 'imap', 443: 'https',
  445: 'microsoft-ds', 465: 'smtps', 587: 'submission', 853: 'domain-s', 993: 'imaps', 995: 'pop3s', 3306: 'mysql', 3389: 'ms-wbt-server',
  5432: 'postgresql', 6379: 'redis', 8080: 'http-proxy', 8443: 'https-alt', 9090: 'zeus-admin', 9100: 'jetdirect',
};

export function serviceName(port: number): string {
  return SERVICES[port] ?? '';
}

/** The --then verdict as the ndjson `then` object: success, reason, duration, and the prober's own facts. */
export function thenJSON(r: ProbeResult): Record<string, unknown> {
  const j = resultToJSON(r);
  const { target: _t, started_at: _s, ...rest } = j;
  return { ...rest, duration: j.duration_seconds };
}

export function rowJSON(r: ScanRow): Record<string, unknown> {
  const h = r.hit;
  const o: Record<string, unknown> = { ip: h.address, port: h.port, state: h.state, reason: h.reason, ttl: h.ttl ?? null, rtt: h.rtt ?? null };
  if (h.icmpCode !== undefined) o.icmp_code = h.icmpCode;
  if (r.then) o.then = thenJSON(r.then);
  if (r.explain) {
    o.verdict = r.explain.verdict;
    if (r.explain.reason) o.drop_reason = r.explain.reason;
    if (r.explain.direction) o.direction = r.explain.direction;
    if (r.explain.location) o.drop_location = r.explain.location;
  }
  return o;
}

/** A verdict as one phrase: "local_drop NETFILTER_DROP egress at nf_hook_slow+0x9a", "path_loss". */
export function verdictText(a: Attribution): string {
  return `${a.verdict}${a.reason ? ` ${a.reason}` : ''}${a.direction ? ` ${a.direction}` : ''}${a.location ? ` at ${a.location}` : ''}`;
}

function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function thenText(r: ProbeResult): string {
  const verdict = r.success ? 'success' : `failed: ${r.reason}${r.message ? ` (${r.message})` : ''}`;
  const info = r.tcp?.expectInfo?.flatMap((e) => Object.entries(e.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`)) ?? [];
  const http = r.http?.statusCode ? ` HTTP ${r.http.statusCode}` : '';
  const tls = r.tls ? ` ${r.tls.version}` : '';
  return `${r.module} ${verdict} in ${formatDuration(r.durationSeconds)}${http}${tls}${info.length ? ` ${info.join(' ')}` : ''}`;
}

function reasonText(r: ScanRow): string {
  const h = r.hit;
  return `${h.reason}${h.ttl !== undefined ? ` ttl ${h.ttl}` : ''}${r.explain ? `: ${verdictText(r.explain)}` : ''}`;
}

/** nmap's rule: more than this many ports of one host in one closed or filtered state are one "Not shown" line. */
export const COLLAPSE_OVER = 25;

/** The rows a host's table lists, and nmap's "Not shown: 65532 closed tcp ports (reset)" for the rest. */
function collapse(rows: readonly ScanRow[]): { rows: ScanRow[]; notShown?: string } {
  const groups = new Map<string, number>();
  for (const r of rows) if (r.hit.state !== 'open') groups.set(`${r.hit.state} ${r.hit.reason}`, (groups.get(`${r.hit.state} ${r.hit.reason}`) ?? 0) + 1);
  const hidden = new Set([...groups].filter(([, n]) => n > COLLAPSE_OVER).map(([k]) => k));
  if (hidden.size === 0) return { rows: [...rows] };
  const parts = [...hidden].map((k) => {
    const [state, reason] = k.split(' ');
    return `${groups.get(k)} ${state} tcp ports (${reason})`;
  });
  return { rows: rows.filter((r) => !hidden.has(`${r.hit.state} ${r.hit.reason}`)), notShown: `Not shown: ${parts.join(', ')}` };
}

/** Rows of the end-of-run views (human table, -oG) one scan may keep: a bound on memory. */
export const MAX_KEPT_ROWS = 1_000_000;

export interface ScanOutputOptions {
  format: ScanFormat;
  /** -oG requested: rows are kept per host for it */
  grepable: boolean;
  then: boolean;
  /** --explain: csv rows carry the verdict columns */
  explain?: boolean;
}

function compareAddress(a: string, b: string): number {
  const x = toBigInt(a);
  const y = toBigInt(b);
  if (x.family !== y.family) return x.family - y.family;
  return x.value < y.value ? -1 : x.value > y.value ? 1 : 0;
}

export class ScanOutput {
  private first = true;
  /** by host, for the human table and -oG */
  private readonly byHost = new Map<string, ScanRow[]>();
  private kept = 0;
  /** rows not kept for the end views (past MAX_KEPT_ROWS) */
  dropped = 0;
  /** --explain: the verdicts of the silent ports, for the summary */
  verdicts?: readonly Attribution[];

  constructor(private readonly opts: ScanOutputOptions) {}

  head(): string {
    if (this.opts.format === 'json') return '[';
    if (this.opts.format === 'csv') return `ip,port,state,reason,ttl,rtt,icmp_code${this.opts.explain ? ',verdict,drop_reason,direction,drop_location' : ''}\n`;
    return '';
  }

  /** Text of rows as they arrive. */
  rows(rows: readonly ScanRow[]): string {
    let out = '';
    for (const r of rows) {
      this.keep(r);
      const h = r.hit;
      switch (this.opts.format) {
        case 'ndjson':
          out += `${JSON.stringify(rowJSON(r))}\n`;
          break;
        case 'json':
          out += `${this.first ? '\n' : ',\n'}  ${JSON.stringify(rowJSON(r))}`;
          break;
        case 'csv':
          {
            const cols: unknown[] = [h.address, h.port, h.state, h.reason, h.ttl, h.rtt, h.icmpCode];
            if (this.opts.explain) cols.push(r.explain?.verdict, r.explain?.reason, r.explain?.direction, r.explain?.location);
            out += `${cols.map(csvField).join(',')}\n`;
          }
          break;
        default:
          // nmap -v's line for each open port as it is found; closed and filtered wait for the table.
          if (h.state === 'open') out += `Discovered open port ${h.port}/tcp on ${h.address}${r.then ? `: ${thenText(r.then)}` : ''}\n`;
      }
      this.first = false;
    }
    return out;
  }

  private keep(r: ScanRow): void {
    if (this.opts.format !== 'human' && !this.opts.grepable) return;
    if (this.kept >= MAX_KEPT_ROWS) {
      this.dropped++;
      return;
    }
    this.kept++;
    let list = this.byHost.get(r.hit.address);
    if (!list) this.byHost.set(r.hit.address, (list = []));
    list.push(r);
  }

  private hosts(): Array<[string, ScanRow[]]> {
    return [...this.byHost].sort(([a], [b]) => compareAddress(a, b)).map(([h, rows]) => [h, rows.sort((x, y) => x.hit.port - y.hit.port)]);
  }

  /** What ends the stream: the JSON array's end, or the human table and summary. */
  tail(summary: ScanSummary, addresses: number): string {
    if (this.opts.format === 'json') return `${this.first ? '' : '\n'}]\n`;
    if (this.opts.format !== 'human') return '';
    let out = '';
    for (const [host, all] of this.hosts()) {
      out += `\nsonde scan report for ${host}\n`;
      const { rows, notShown } = collapse(all);
      if (notShown) out += `${notShown}\n`;
      const portW = Math.max(4, ...rows.map((r) => `${r.hit.port}/tcp`.length));
      const stateW = Math.max(5, ...rows.map((r) => r.hit.state.length));
      const reasonW = Math.max(6, ...rows.map((r) => reasonText(r).length));
      out += `${'PORT'.padEnd(portW)}  ${'STATE'.padEnd(stateW)}  ${this.opts.then ? `${'REASON'.padEnd(reasonW)}  THEN` : 'REASON'}\n`;
      for (const r of rows) {
        const reason = reasonText(r);
        const then = this.opts.then && r.then ? `  ${thenText(r.then)}` : '';
        out += `${`${r.hit.port}/tcp`.padEnd(portW)}  ${r.hit.state.padEnd(stateW)}  ${this.opts.then ? reason.padEnd(reasonW) : reason}${then}`.trimEnd() + '\n';
      }
    }
    if (this.dropped > 0) out += `\n(${this.dropped} more ports not shown: the table keeps ${MAX_KEPT_ROWS}; use --ndjson for every one)\n`;
    out += `\n${summaryText(summary, addresses, this.verdicts)}\n`;
    return out;
  }

  /** nmap's grepable output (-oG): a header, one line per host with a reported port, a footer. */
  grepable(summary: ScanSummary, addresses: number, command: string, startedAt: Date, version: string): string {
    let out = `# sonde ${version} scan initiated ${startedAt.toUTCString()} as: ${command}\n`;
    for (const [host, rows] of this.hosts()) {
      const ports = rows.map((r) => `${r.hit.port}/${r.hit.state}/tcp//${serviceName(r.hit.port)}///`).join(', ');
      out += `Host: ${host} ()\tPorts: ${ports}\n`;
    }
    out += `# sonde done at ${new Date().toUTCString()} -- ${addresses} IP address${addresses === 1 ? '' : 'es'} (${this.byHost.size} host${this.byHost.size === 1 ? '' : 's'} with reported ports) scanned in ${summary.seconds.toFixed(2)} seconds\n`;
    return out;
  }
}

/** --explain's summary line: the silent ports by verdict, local drops by reason. */
function verdictsText(verdicts: readonly Attribution[]): string {
  const by = new Map<string, number>();
  for (const a of verdicts) {
    const k = a.verdict === 'local_drop' ? `local_drop ${a.reason ?? 'unknown'} ${a.direction ?? ''}`.trimEnd() : a.verdict;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  const parts = [...by].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
  return `\n  filtered by silence ${verdicts.length}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/** The end-of-run summary: what was sent, what came back, and what was found. */
export function summaryText(s: ScanSummary, addresses: number, verdicts?: readonly Attribution[]): string {
  const cut = s.truncated ? ' (cut short by --max-runtime or an interrupt: not every pair was covered)' : '';
  return (
    `sonde scan: ${addresses} address${addresses === 1 ? '' : 'es'}, ${s.total} (address, port) pairs; ${s.sent} SYNs sent in ${s.seconds.toFixed(2)} s (${Math.round(s.packetsPerSecond)} pps)${s.refused ? `, ${s.refused} refused by the local stack` : ''}${cut}\n` +
    `  received ${s.received}, validated ${s.validated}, foreign ${s.foreign}, duplicates ${s.duplicates}; open ${s.open}, closed ${s.closed}, filtered ${s.filtered}` +
    (verdicts ? verdictsText(verdicts) : '')
  );
}

/** The progress line (stderr): sent, rate, found, ETA. */
export function progressText(p: { sent: number; total: number; open: number; closed: number; filtered: number }, elapsedS: number, rate: number): string {
  const pps = elapsedS > 0 ? p.sent / elapsedS : 0;
  // First SYNs left; retries to silent ports come on top, so the ETA is a lower bound.
  const left = Math.max(0, p.total - p.sent);
  const eta = left > 0 ? `, ETA ${formatDuration(left / Math.max(1, Math.min(rate, pps || rate)))}` : '';
  return `sonde scan: ${p.sent}/${p.total} sent (${Math.round(pps)} pps), found ${p.open} open${p.closed || p.filtered ? `, ${p.closed} closed, ${p.filtered} filtered` : ''}${eta}`;
}
