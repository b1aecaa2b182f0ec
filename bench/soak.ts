// Scenario `soak` (not in CI): a long run of 10,000 targets mixed across probers (tcp_connect and
// http_2xx against a local nginx, icmp to loopback, and a task of closed ports that must fail),
// with a hostile /probe flood in the middle (fire-and-forget requests with a 300 s timeout to a
// server that never answers, and held requests past the /probe bound). It reports the slopes of
// the daemon's RSS and descriptors, the verdicts (healthy targets must all succeed, the closed
// ones all fail: anything else is a false verdict), and whether the counts add up: every run due
// by the plan is a success, a failure or a skip. BENCH_SOAK_SECONDS sets the length (default one
// hour); the flood runs from 40% to 60% of it, bounded in rate and count.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { get, startDaemon } from '../test/lab/daemon';
import { fireAndForget, silentServer } from '../test/lab/silent_server';
import type { ScenarioOutput, Series } from './lib/figures';
import { loopbackAddresses, startNginx } from './lib/procs';

export interface SoakOptions {
  seconds: number;
  /** flood requests per second while it runs */
  floodRate: number;
}

const INTERVAL_S = 10;
const TCP = 4000;
const HTTP = 3000;
const ICMP = 2500;
const CLOSED = 500;

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function config(nginxPort: number, closed: number): string {
  const addrs = loopbackAddresses(Math.max(TCP, ICMP));
  const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  return `modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp: {preferred_ip_protocol: ip4}
  http_2xx:
    prober: http
    timeout: 5s
    http: {preferred_ip_protocol: ip4}
  http_hang:
    prober: http
    timeout: 100s
    http: {preferred_ip_protocol: ip4}
  icmp:
    prober: icmp
    timeout: 5s
    icmp: {preferred_ip_protocol: ip4}
tasks:
  - {name: tcp, module: tcp_connect, interval: ${INTERVAL_S}s, timeout: 5s, max_target_series: 10, targets: ${list(addrs.slice(0, TCP).map((a) => `${a}:${nginxPort}`))}}
  - {name: http, module: http_2xx, interval: ${INTERVAL_S}s, timeout: 5s, max_target_series: 10, targets: ${list(Array.from({ length: HTTP }, (_, i) => `http://127.0.0.1:${nginxPort}/?t=${i}`))}}
  - {name: icmp, module: icmp, interval: ${INTERVAL_S}s, timeout: 5s, max_target_series: 10, targets: ${list(addrs.slice(0, ICMP))}}
  - {name: closed, module: tcp_connect, interval: ${INTERVAL_S}s, timeout: 5s, max_target_series: 10, targets: ${list(addrs.slice(0, CLOSED).map((a) => `${a}:${closed}`))}}
`;
}

interface Sample {
  t: number;
  rssMiB: number;
  fds: number;
}

function sample(pid: number, t0: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { t: (Date.now() - t0) / 1000, rssMiB: rssKiB / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Least-squares slope of y over t, per hour. */
function slopePerHour(xs: Sample[], y: (s: Sample) => number): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mt = xs.reduce((a, s) => a + s.t, 0) / n;
  const my = xs.reduce((a, s) => a + y(s), 0) / n;
  let num = 0;
  let den = 0;
  for (const s of xs) {
    num += (s.t - mt) * (y(s) - my);
    den += (s.t - mt) ** 2;
  }
  return (num / den) * 3600;
}

function sums(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const r = /^(sonde_probes_total|sonde_probes_skipped_total|sonde_probe_requests_refused_total|sonde_probe_requests_cancelled_total|sonde_gateway_connections_closed_total)\{?([^}]*)\}? ([0-9.e+]+)$/.exec(line);
    if (!r) continue;
    const task = /task="([^"]+)"/.exec(r[2])?.[1] ?? '';
    const result = /result="([^"]+)"/.exec(r[2])?.[1] ?? '';
    const key = `${r[1]}|${task}|${result}`;
    m.set(key, (m.get(key) ?? 0) + Number(r[3]));
  }
  return m;
}

export async function soak(opts: SoakOptions): Promise<ScenarioOutput> {
  if (process.getuid?.() !== 0) return ['soak: skipped: needs root (icmp probes)'];
  const nginx = await startNginx(Math.max(TCP, ICMP));
  const hang = await silentServer();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-soak-'));
  writeFileSync(path.join(dir, 'sonde.yml'), config(nginx.port, await closedPort()));
  // info: startDaemon finds the port in the "sonde is running" line.
  const d = await startDaemon(['--config', path.join(dir, 'sonde.yml'), '--log.level', 'info']);
  const lines: string[] = [];
  const held: net.Socket[] = [];
  try {
    const pid = d.child.pid as number;
    const t0 = Date.now();
    const samples: Sample[] = [];
    let flooded = 0;
    const floodFrom = opts.seconds * 0.4;
    const floodTo = opts.seconds * 0.6;
    // Warm-up: the first interval spreads the targets' start; counting starts after it.
    await new Promise((r) => setTimeout(r, INTERVAL_S * 1000));
    const start = sums((await get(d.port, '/metrics')).text);
    const tStart = Date.now();
    for (;;) {
      const elapsed = (Date.now() - t0) / 1000;
      if (elapsed >= opts.seconds) break;
      if (elapsed >= floodFrom && elapsed < floodTo) {
        // Paced: at most floodRate requests a second, however fast they are refused or cancelled.
        await Promise.all([fireAndForget(d.port, `module=http_hang&target=http://127.0.0.1:${hang.port}/`, opts.floodRate), new Promise((r) => setTimeout(r, 1000))]);
        flooded += opts.floodRate;
        // Held requests past the /probe bound (2048 by default): they must get 503, never stall tasks.
        if (held.length < 2500) {
          for (let i = 0; i < 250; i++) {
            const s = net.connect({ port: d.port, host: '127.0.0.1' });
            s.on('error', () => undefined);
            s.write(`GET /probe?module=http_hang&target=http://127.0.0.1:${hang.port}/ HTTP/1.1\r\nHost: sonde\r\nX-Prometheus-Scrape-Timeout-Seconds: 300\r\n\r\n`);
            held.push(s);
          }
        }
      } else {
        if (elapsed >= floodTo) for (const s of held.splice(0)) s.destroy();
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (samples.length === 0 || elapsed - samples[samples.length - 1].t >= 10) samples.push(sample(pid, t0));
    }
    for (const s of held.splice(0)) s.destroy();
    const end = sums((await get(d.port, '/metrics')).text);
    const seconds = (Date.now() - tStart) / 1000;
    const delta = (k: string) => (end.get(k) ?? 0) - (start.get(k) ?? 0);
    const after = samples.filter((s) => s.t >= INTERVAL_S * 2);
    lines.push(`soak: ${Math.round(seconds)} s counted, ${TCP + HTTP + ICMP + CLOSED} targets every ${INTERVAL_S} s; flood ${flooded} fire-and-forget /probe requests and up to 2500 held, from ${Math.round(floodFrom)} s to ${Math.round(floodTo)} s`);
    lines.push(
      `RSS ${after[0]?.rssMiB.toFixed(0)} -> ${after[after.length - 1]?.rssMiB.toFixed(0)} MiB (max ${Math.max(...after.map((s) => s.rssMiB)).toFixed(0)}), slope ${slopePerHour(after, (s) => s.rssMiB).toFixed(1)} MiB/h; descriptors ${after[0]?.fds} -> ${after[after.length - 1]?.fds}, slope ${slopePerHour(after, (s) => s.fds).toFixed(1)}/h`,
    );
    let falseVerdicts = 0;
    for (const task of ['tcp', 'http', 'icmp', 'closed']) {
      const ok = delta(`sonde_probes_total|${task}|success`);
      const bad = delta(`sonde_probes_total|${task}|failure`);
      const skipped = delta(`sonde_probes_skipped_total|${task}|`);
      const targets = { tcp: TCP, http: HTTP, icmp: ICMP, closed: CLOSED }[task] as number;
      const due = (targets * seconds) / INTERVAL_S;
      falseVerdicts += task === 'closed' ? ok : bad;
      lines.push(
        `task ${task}: ${ok} success, ${bad} failure, ${skipped} skipped = ${ok + bad + skipped} runs; due by the plan about ${Math.round(due)} (${(((ok + bad + skipped) / due) * 100).toFixed(1)}%)`,
      );
    }
    lines.push(`false verdicts (a healthy target failed, a closed port succeeded): ${falseVerdicts}`);
    lines.push(
      `/probe flood: ${delta('sonde_probe_requests_cancelled_total||')} cancelled (client gone), ${delta('sonde_probe_requests_refused_total||')} refused (503), ${delta('sonde_gateway_connections_closed_total||')} connections closed over the listener's bounds; daemon healthy at the end: ${(await get(d.port, '/-/healthy')).status === 200}`,
    );
    const series: Series[] = [
      { kind: 'line', name: 'soak: daemon RSS over time', xUnit: 's', unit: 'MiB', points: { RSS: samples.map((x): [number, number] => [x.t, x.rssMiB]) } },
      { kind: 'line', name: 'soak: daemon descriptors over time', xUnit: 's', unit: 'descriptors', points: { fds: samples.map((x): [number, number] => [x.t, x.fds]) } },
    ];
    return { lines, figures: [], series };
  } finally {
    for (const s of held) s.destroy();
    d.child.kill('SIGTERM');
    await d.exited;
    hang.close();
    nginx.proc.stop();
  }
}
