// Scenario: dns probes per second against a local unbound (local zones only, never an upstream), over
// UDP and DoT, at the same concurrency for everyone: blackbox_exporter's dns module via /probe (the
// peer), sonde's /probe, and sonde's continuous mode; dnsperf on the same unbound is the ceiling.
// UDP runs for a fixed count (100,000 probes by default, BENCH_DNS_COUNT); DoT, a few hundred a second, for a time.
// sonde alone also runs DoT with tls_resume and with reuse_connections, each beside blackbox's plain DoT.
import { continuousConfig, continuousCount, continuousRate } from './lib/continuous';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon } from '../test/lab/daemon';
import { missingServers, startUnbound, type Unbound } from '../test/lab/dns_servers';
import { makePKI } from '../test/lab/pki';
import { Results } from './lib/figures';
import { startBlackbox } from './lib/procs';
import type { Tick } from './lib/progress';
import { fmt, median, type Figure } from './lib/stats';
import { haveWrk, wrkProbe, wrkProbeCount } from './lib/wrk';

export interface DNSRateOptions {
  runs: number;
  seconds: number;
  concurrency: number;
  /** dns_udp runs for this many probes instead of `seconds` (issue 11: 100,000 DNS probes); DoT, at a few hundred a second, stays timed */
  udpCount?: number;
  progress?: Tick;
}

const DNSPERF = '/usr/bin/dnsperf';
// Targets due every `interval` seconds: demand (TARGETS / interval) stays above what any prober here
// reaches. DoT's interval (and so its timeout) is longer: 64 TLS handshakes in flight take longer
// than 100 ms on two cores, and a timed-out probe is not throughput.
const TARGETS = 5000;

function modules(caFile: string): string {
  return `modules:
  dns_udp:
    prober: dns
    timeout: 5s
    dns: { query_name: www.sonde.test, query_type: A, preferred_ip_protocol: ip4 }
  dns_dot:
    prober: dns
    timeout: 5s
    dns: { query_name: www.sonde.test, query_type: A, transport_protocol: tcp, dns_over_tls: true, preferred_ip_protocol: ip4, tls_config: { ca_file: ${caFile} } }
`;
}

/**
 * sonde only: DoT offering the last session (tls_resume), and DoT on kept connections
 * (reuse_connections, as stub resolvers ask); blackbox makes a new connection and a full handshake
 * every probe, so these are ratios of different work, printed as such.
 */
function sondeOnlyModules(caFile: string): string {
  const dot = `query_name: www.sonde.test, query_type: A, transport_protocol: tcp, dns_over_tls: true, preferred_ip_protocol: ip4, tls_config: { ca_file: ${caFile} }`;
  return `  dns_dot_resume:
    prober: dns
    timeout: 5s
    dns: { ${dot}, tls_resume: true }
  dns_dot_reuse:
    prober: dns
    timeout: 5s
    dns: { ${dot}, reuse_connections: true }
`;
}

/** CPU seconds a process has used (all its threads), from /proc: 0 when it is gone. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime: fields 14 and 15, in USER_HZ (100)
  } catch {
    return 0;
  }
}

/** Runs `drive` and returns its answers and the CPU µs per answer of each pid, measured around it. */
async function withCPU(pids: (number | undefined)[], drive: () => Promise<{ ok: number; bad: number; okPerSecond: number }>) {
  const before = pids.map(cpuSeconds);
  const r = await drive();
  const perAnswer = pids.map((p, i) => ((cpuSeconds(p) - before[i]) * 1e6) / Math.max(1, r.ok + r.bad));
  return { ...r, perAnswer };
}

/** dnsperf's queries per second against `port` (mode udp or dot), or undefined when it is not installed. */
function dnsperf(u: Unbound, mode: 'udp' | 'dot', seconds: number): number | undefined {
  if (!existsSync(DNSPERF)) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-dnsperf-'));
  writeFileSync(path.join(dir, 'queries'), 'www.sonde.test A\n');
  const port = mode === 'dot' ? u.tlsPort : u.port;
  const out = execFileSync(DNSPERF, ['-s', '127.0.0.1', '-p', String(port), '-m', mode, '-d', path.join(dir, 'queries'), '-l', String(seconds), '-T', '2', '-c', '2', '-q', '256'], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  const m = /Queries per second:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`dnsperf output not understood:\n${out}`);
  return Number(m[1]);
}

export async function dnsRate(opts: DNSRateOptions): Promise<Results> {
  const out = new Results();
  const tick = opts.progress ?? (() => undefined);
  if (!haveWrk()) return out.line('dns_rate: skipped: wrk is not installed (npm run bench installs it as root)');
  const missing = missingServers().filter((b) => b.endsWith('unbound'));
  if (missing.length > 0) return out.line(`dns_rate: skipped: ${missing.join(', ')} not installed (npm run bench installs unbound as root)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-dns-'));
  const pki = await makePKI(path.join(dir, 'pki'));
  const unbound = await startUnbound(dir, { tls: { certPath: pki.leaves.valid.certPath, keyPath: pki.leaves.valid.keyPath }, threads: 2 });
  const blackbox = await startBlackbox(modules(pki.ca.certPath));
  const mods = modules(pki.ca.certPath) + sondeOnlyModules(pki.ca.certPath);
  writeFileSync(path.join(dir, 'modules.yml'), `${mods}tasks: []\n`);
  const sonde = await startDaemon(['--config', path.join(dir, 'modules.yml'), '--log.level', 'info']);
  try {
    const cases = [
      { module: 'dns_udp', mode: 'udp' as const, interval: 0.1, target: `127.0.0.1:${unbound.port}`, continuous: (i: number) => `q${i}.bench.test@127.0.0.1:${unbound.port}` },
      { module: 'dns_dot', mode: 'dot' as const, interval: 2, target: `127.0.0.1:${unbound.tlsPort}`, continuous: (i: number) => `q${i}.bench.test@127.0.0.1:${unbound.tlsPort}` },
      { module: 'dns_dot_resume', peerModule: 'dns_dot', mode: 'dot' as const, interval: 2, target: `127.0.0.1:${unbound.tlsPort}`, continuous: (i: number) => `q${i}.bench.test@127.0.0.1:${unbound.tlsPort}` },
      { module: 'dns_dot_reuse', peerModule: 'dns_dot', mode: 'dot' as const, interval: 0.1, target: `127.0.0.1:${unbound.tlsPort}`, continuous: (i: number) => `q${i}.bench.test@127.0.0.1:${unbound.tlsPort}` },
    ];
    for (const [ci, c] of cases.entries()) {
      const q = `/probe?module=${c.module}&target=${encodeURIComponent(c.target)}`;
      const peerQ = `/probe?module=${c.peerModule ?? c.module}&target=${encodeURIComponent(c.target)}`;
      const peer: number[] = [];
      const viaProbe: number[] = [];
      const continuous: number[] = [];
      const ceiling: number[] = [];
      // CPU µs per /probe answer (all threads): the daemons', and the server's for sonde's answers.
      const peerCPU: number[] = [];
      const sondeCPU: number[] = [];
      const unboundCPU: number[] = [];
      let bad = 0;
      let short = 0;
      for (let run = 0; run < opts.runs; run++) {
        tick(`${c.module} run ${run + 1}/${opts.runs}`, (ci + run / opts.runs) / cases.length);
        const perf = c.peerModule ? undefined : dnsperf(unbound, c.mode, opts.seconds);
        if (perf !== undefined) ceiling.push(perf);
        const count = c.mode === 'udp' ? opts.udpCount : undefined;
        // Counted: about `count` answers, bounded at 150/s (blackbox's UDP rate is ~4,500/s here).
        const drive = (url: string) => (count ? wrkProbeCount(url, opts.concurrency, count, Math.max(60, count / 150)) : Promise.resolve(wrkProbe(url, opts.concurrency, opts.seconds)));
        const ub = unbound.proc.pid;
        if (blackbox) {
          const b = await withCPU([blackbox.proc.child.pid, ub], () => drive(`http://127.0.0.1:${blackbox.port}${peerQ}`));
          peer.push(b.okPerSecond);
          peerCPU.push(b.perAnswer[0]);
        }
        const s = await withCPU([sonde.child.pid, ub], () => drive(`http://127.0.0.1:${sonde.port}${q}`));
        viaProbe.push(s.okPerSecond);
        sondeCPU.push(s.perAnswer[0]);
        unboundCPU.push(s.perAnswer[1]);
        bad += s.bad;
        short += count && s.ok < count ? 1 : 0;
        const cfg = continuousConfig(mods, c.module, c.interval, c.continuous, TARGETS);
        continuous.push(count ? (await continuousCount(cfg, opts.concurrency, count, Math.max(60, count / 150))).rate : await continuousRate(cfg, opts.concurrency, opts.seconds));
      }
      const peerFig = { name: `blackbox_exporter ${c.peerModule ?? c.module} /probe`, runs: peer };
      const how = c.mode === 'udp' && opts.udpCount ? `${fmt(opts.udpCount)} probes, ` : '';
      const figs: Figure[] = [
        { name: `${c.module} ceiling: dnsperf alone against the same unbound`, unit: 'queries/s', runs: ceiling.length > 0 ? ceiling : [0] },
        { name: `${c.module} ${how}sonde /probe (c=${opts.concurrency})`, unit: 'probes/s', runs: viaProbe, peer: peerFig },
        { name: `${c.module} ${how}sonde continuous (in flight ${opts.concurrency})`, unit: 'probes/s', runs: continuous, peer: peerFig },
      ];
      if (ceiling.length === 0) figs.shift();
      for (const f of figs) out.fig(f);
      const cpuLine = `${c.module} CPU per /probe answer (µs, median): sonde ${fmt(median(sondeCPU))}, unbound ${fmt(median(unboundCPU))}`;
      out.line(peerCPU.length > 0 ? `${cpuLine}; blackbox_exporter ${fmt(median(peerCPU))}` : cpuLine);
      if (bad > 0) out.line(`${c.module}: WARNING: ${bad} sonde /probe answers were not probe_success 1`);
      if (short > 0) out.line(`${c.module}: WARNING: ${short} sonde /probe runs ended at their time bound before the count`);
    }
  } finally {
    sonde.child.kill('SIGTERM');
    await Promise.race([sonde.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (sonde.child.exitCode === null) sonde.child.kill('SIGKILL');
    blackbox?.proc.stop();
    await unbound.stop();
  }
  return out;
}
