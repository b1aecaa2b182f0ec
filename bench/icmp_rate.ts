// Scenario icmp_rate (issue 3): a burst of echo probes (1,000,000 by default) to addresses in a lab
// namespace over veth, sonde's native engine against fping over the same targets in the same run:
// probes/s, loss (every reply accounted for), RTT p50/p99, CPU seconds and peak RSS.
// Each sonde burst runs in a child process of its own, so CPU and peak RSS are that burst's alone,
// as GNU time reports them for fping. Also: the wall time of one `sonde ping` CLI call (Node start
// included) next to `fping -c 1`.
import { fork, spawnSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { IcmpEngine } from '../src/native/icmp';
import { Lab } from '../test/lab/netns';
import { fpingBurst, FPING_BIN, haveFping, type PingBurst } from './lib/fping';
import { fmt, median, report } from './lib/stats';

export interface IcmpRateOptions {
  runs: number;
  /** echoes per burst, a multiple of `targets` */
  probes: number;
  targets: number;
}

// Lab (RFC 2544 range): host 198.18.126.1 -- 198.18.126.2 target namespace, which answers for
// all of 198.18.128.0/17 through one local route (no address per target to configure).
const PREFIX = 'sdbicm';
const HOST_ADDR = '198.18.126.1';
const TARGET_LINK = '198.18.126.2';
const TARGET_RANGE = '198.18.128.0/17';
// ICMP rate limits apply to the target's replies (net.ipv4.icmp_ratelimit, icmp_msgs_per_sec);
// they are lifted in the target namespace, which fping faces as well.
const TARGET_SYSCTLS: Array<[string, string]> = [
  ['net.ipv4.icmp_ratelimit', '0'],
  ['net.ipv4.icmp_msgs_per_sec', '100000000'],
  ['net.ipv4.icmp_msgs_burst', '100000000'],
];
const TIMEOUT_MS = 1000;

function targetAddress(i: number): string {
  return `198.18.${128 + (i >> 8)}.${i & 0xff}`;
}

function buildLab(n: number): { lab: Lab; targets: string[] } {
  const lab = new Lab(PREFIX);
  try {
    lab.addNs('t');
    lab.link({ ns: null, ifname: `${PREFIX}h`, addrs: [`${HOST_ADDR}/24`] }, { ns: 't', ifname: `${PREFIX}t`, addrs: [`${TARGET_LINK}/24`] });
    lab.exec('t', ['ip', 'route', 'add', 'local', TARGET_RANGE, 'dev', 'lo']);
    lab.route(null, TARGET_RANGE, TARGET_LINK);
    for (const [k, v] of TARGET_SYSCTLS) lab.sysctl('t', k, v);
    // Skip .0 and .255 of each /24: some tools treat them as network/broadcast addresses.
    const targets: string[] = [];
    for (let i = 1; targets.length < n && i < 1 << 15; i++) if ((i & 0xff) !== 0 && (i & 0xff) !== 255) targets.push(targetAddress(i));
    return { lab, targets };
  } catch (err) {
    lab.close();
    throw err;
  }
}

export interface SondeBurst {
  sent: number;
  received: number;
  lost: number;
  errors: number;
  duplicates: number;
  late: number;
  strays: number;
  seconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
  p50: number;
  p99: number;
  kernelTx: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** One burst through a fresh engine: `probes` echoes cycling over `targets`, all submitted at once. */
export async function sondeBurst(targets: readonly string[], probes: number): Promise<SondeBurst> {
  const addrs = Array.from({ length: probes }, (_, i) => targets[i % targets.length]);
  const engine = new IcmpEngine({ capacityLog2: 20 });
  const rtts = new Float64Array(probes);
  let received = 0, lost = 0, errors = 0, duplicates = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      // Bounded: 1 µs per probe would be 1M/s; allow 100x that plus the timeout and a margin.
      const guard = setTimeout(() => reject(new Error(`sonde burst did not finish: ${JSON.stringify(engine.counters())}`)), probes / 10 + TIMEOUT_MS + 30_000);
      engine.echo(
        addrs,
        { timeoutMs: TIMEOUT_MS },
        (_i, o) => {
          if (o.kind === 'reply') rtts[received++] = o.rtt;
          else if (o.kind === 'duplicate') duplicates++;
          else if (o.kind === 'timeout') lost++;
          else errors++;
        },
        () => {
          clearTimeout(guard);
          resolve();
        },
      );
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const c = engine.counters();
    const sorted = rtts.subarray(0, received).sort();
    return {
      sent: c.sent,
      received,
      lost,
      errors,
      duplicates: Math.max(duplicates, c.duplicates), // the engine also counts those after onDone
      late: c.late,
      strays: c.strays,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      maxRssKiB: process.resourceUsage().maxRSS,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      kernelTx: c.txKernelTimestamps,
    };
  } finally {
    engine.close();
  }
}

function runChild(targets: readonly string[], probes: number): Promise<SondeBurst> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--sonde-burst'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: SondeBurst | undefined;
    const guard = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    }, probes / 10 + 60_000);
    child.on('message', (m: { result?: SondeBurst; error?: string }) => {
      if (m.error) reject(new Error(`sonde burst: ${m.error}`));
      result = m.result;
    });
    child.on('exit', (code) => {
      clearTimeout(guard);
      if (result) resolve(result);
      else reject(new Error(`sonde burst child exited with ${code} and no result`));
    });
    child.send({ targets, probes });
  });
}

function pingCliFigures(target: string, runs: number): { sonde: number[]; fping: number[] } {
  const cli = path.join(__dirname, '..', '..', 'bin', 'sonde.js');
  const wall = (argv: string[]) => {
    const t0 = performance.now();
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited with ${r.status}: ${r.stderr}`);
    return performance.now() - t0;
  };
  const out = { sonde: [] as number[], fping: [] as number[] };
  for (let i = 0; i < runs; i++) {
    out.sonde.push(wall([process.execPath, cli, 'ping', '-c', '1', target]));
    out.fping.push(wall([FPING_BIN, '-q', '-c', '1', target]));
  }
  return out;
}

const accounted = (b: { sent: number; received: number; lost: number; errors?: number }) => b.sent === b.received + b.lost + (b.errors ?? 0);

export async function icmpRate(opts: IcmpRateOptions): Promise<string[]> {
  if (process.getuid?.() !== 0) return ['icmp_rate: skipped: needs root (network namespaces, raw sockets)'];
  if (opts.probes % opts.targets !== 0) throw new RangeError('BENCH_ICMP_PROBES must be a multiple of the number of targets');
  const { lab, targets } = buildLab(opts.targets);
  const lines: string[] = [];
  try {
    // Warm-up: resolves the lab neighbour, so the first timed burst doesn't lose the packets
    // queued behind ARP (neigh unres_qlen).
    const warm = await sondeBurst(targets, targets.length);
    if (warm.received !== targets.length) throw new Error(`lab not answering: warm-up got ${warm.received}/${targets.length} replies`);
    const sonde: SondeBurst[] = [];
    const peer: PingBurst[] = [];
    for (let run = 0; run < opts.runs; run++) {
      sonde.push(await runChild(targets, opts.probes));
      if (haveFping()) peer.push(fpingBurst(targets, opts.probes));
    }
    const what = `${fmt(opts.probes)} echoes to ${targets.length} addrs`;
    const fp = (name: string, xs: number[]) => ({ name, runs: peer.length ? xs : [] });
    const us = (x: number) => x * 1e6;
    lines.push(
      `lab: one target namespace over veth answering ${TARGET_RANGE}; in it ${TARGET_SYSCTLS.map(([k, v]) => `${k}=${v}`).join(', ')} (fping faces the same target); sonde timeout ${TIMEOUT_MS} ms${haveFping() ? '' : '; fping or GNU time not installed'}`,
      report({ name: `sonde ${what}`, unit: 'probes/s', runs: sonde.map((b) => b.sent / b.seconds), peer: fp('fping', peer.map((b) => b.sent / b.seconds)) }),
      `sonde loss: ${sonde.map((b) => `${b.lost}/${fmt(b.sent)} lost, ${b.errors} errors, ${b.duplicates} duplicates, ${b.late} late, ${b.strays} strays`).join('; ')}` +
        (peer.length ? `; fping: ${peer.map((b) => `${b.sent - b.received}/${fmt(b.sent)} lost`).join('; ')}` : ''),
      report({ name: 'sonde RTT p50', unit: 'µs', runs: sonde.map((b) => us(b.p50)), peer: fp('fping', peer.map((b) => us(pct(b.rtts, 0.5)))) }),
      report({ name: 'sonde RTT p99', unit: 'µs', runs: sonde.map((b) => us(b.p99)), peer: fp('fping', peer.map((b) => us(pct(b.rtts, 0.99)))) }),
      report({ name: 'sonde CPU', unit: 's', runs: sonde.map((b) => b.cpuSeconds), peer: fp('fping', peer.map((b) => b.cpuSeconds)) }),
      report({ name: 'sonde peak RSS', unit: 'MiB', runs: sonde.map((b) => b.maxRssKiB / 1024), peer: fp('fping', peer.map((b) => b.maxRssKiB / 1024)) }),
    );
    const bad = sonde.filter((b) => !accounted(b) || b.duplicates !== 0);
    if (bad.length > 0) lines.push(`sonde: WARNING: ${bad.length} runs where sent != received + lost + errors or with duplicates`);
    if (sonde.some((b) => b.lost > 0)) lines.push(`sonde: WARNING: loss on a clean lab (median ${fmt(median(sonde.map((b) => b.lost)))} per run)`);
    if (haveFping()) {
      const p = pingCliFigures(targets[0], 5);
      lines.push(report({ name: 'sonde ping -c 1 (CLI wall time, Node start included)', unit: 'ms', runs: p.sonde, peer: { name: 'fping -c 1', runs: p.fping } }));
    }
  } finally {
    lab.close();
  }
  return lines;
}

function pct(rtts: Float64Array, p: number): number {
  return percentile(Float64Array.from(rtts).sort(), p);
}

// Child mode (see runChild): one burst, result over IPC.
if (require.main === module && process.argv.includes('--sonde-burst')) {
  process.once('message', (m: { targets: string[]; probes: number }) => {
    sondeBurst(m.targets, m.probes).then(
      (result) => process.send?.({ result }, () => process.exit(0)),
      (err: Error) => process.send?.({ error: err.stack ?? String(err) }, () => process.exit(1)),
    );
  });
}
