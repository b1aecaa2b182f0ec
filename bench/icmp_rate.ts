// Scenario icmp_rate (issues 3 and 11): a burst of echo probes (1,000,000 by default) to addresses in
// a lab namespace over veth, sonde's native engine against fping over the same targets in the same
// run: probes/s, loss (every reply accounted for), RTT p50/p99 and CDFs, CPU seconds and peak RSS.
// The burst's rate is held against fping's best form (one `-c` run over as many targets as its
// sequence space allows; bench/lib/fping.ts) for issue 11's 1.5x target, and reported beside the
// chunked fping form that covers the same million echoes. Then sonde's CLI as a whole process
// against that best form (bench/icmp_cli.ts).
// Each sonde burst runs in a child process of its own, so CPU and peak RSS are that burst's alone,
// as GNU time reports them for fping.
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { IcmpEngine } from '../src/native/icmp';
import { icmpCli, ICMP_TARGET } from './icmp_cli';
import { quantiles, Results } from './lib/figures';
import { fpingBestForm, fpingBurst, haveFping, type PingBurst } from './lib/fping';
import { buildIcmpLab, TARGET_RANGE, TARGET_SYSCTLS } from './lib/icmp_lab';
import type { Tick } from './lib/progress';
import { fmt, median } from './lib/stats';

export interface IcmpRateOptions {
  runs: number;
  /** echoes per burst, a multiple of `targets` */
  probes: number;
  targets: number;
  /** echoes per target of fping's best form and of the CLI comparison, over BEST_FORM_TARGETS */
  bestFormCount: number;
  progress?: Tick;
}

// fping's best form: 254 addresses x 250 echoes = 63,500, within its 65,535 sequence numbers.
const BEST_FORM_TARGETS = 254;
const TIMEOUT_MS = 1000;

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
  /** RTT quantiles in seconds, for the CDF (the whole sample stays in the child) */
  rttQuantiles: number[];
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
      rttQuantiles: quantiles(sorted),
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

const accounted = (b: { sent: number; received: number; lost: number; errors?: number }) => b.sent === b.received + b.lost + (b.errors ?? 0);

export async function icmpRate(opts: IcmpRateOptions): Promise<Results> {
  const out = new Results();
  if (process.getuid?.() !== 0) return out.line('icmp_rate: skipped: needs root (network namespaces, raw sockets)');
  if (opts.probes % opts.targets !== 0) throw new RangeError('BENCH_ICMP_PROBES must be a multiple of the number of targets');
  const tick = opts.progress ?? (() => undefined);
  const { lab, targets: all } = buildIcmpLab(Math.max(opts.targets, BEST_FORM_TARGETS));
  const targets = all.slice(0, opts.targets);
  const bestTargets = all.slice(0, BEST_FORM_TARGETS);
  try {
    // Warm-up: resolves the lab neighbour, so the first timed burst doesn't lose the packets
    // queued behind ARP (neigh unres_qlen).
    const warm = await sondeBurst(all, all.length);
    if (warm.received !== all.length) throw new Error(`lab not answering: warm-up got ${warm.received}/${all.length} replies`);
    const sonde: SondeBurst[] = [];
    const chunked: PingBurst[] = [];
    const best: PingBurst[] = [];
    for (let run = 0; run < opts.runs; run++) {
      tick(`burst run ${run + 1}/${opts.runs}: sonde ${fmt(opts.probes)} echoes`, run / (opts.runs + 1));
      sonde.push(await runChild(targets, opts.probes));
      if (!haveFping()) continue;
      tick(`burst run ${run + 1}/${opts.runs}: fping chunked and best form`);
      chunked.push(fpingBurst(targets, opts.probes));
      best.push(fpingBestForm(bestTargets, opts.bestFormCount));
    }
    const what = `${fmt(opts.probes)} echoes to ${targets.length} addrs`;
    const fp = (name: string, xs: number[]) => ({ name, runs: chunked.length ? xs : [] });
    const rate = (b: { sent: number; seconds: number }) => b.sent / b.seconds;
    const us = (x: number) => x * 1e6;
    out.line(
      `lab: one target namespace over veth answering ${TARGET_RANGE}; in it ${TARGET_SYSCTLS.map(([k, v]) => `${k}=${v}`).join(', ')} (fping faces the same target); sonde timeout ${TIMEOUT_MS} ms${haveFping() ? '' : '; fping or GNU time not installed'}`,
    );
    out.fig({
      name: `sonde burst ${what}, against fping best form (-q -c ${opts.bestFormCount} -p 0.5 -i 0, ${BEST_FORM_TARGETS} addrs)`,
      unit: 'probes/s',
      runs: sonde.map(rate),
      peer: { name: 'fping best form', runs: best.map(rate) },
      target: ICMP_TARGET,
    });
    out.fig({ name: `sonde burst ${what}, against fping chunked (-C runs of <= 60,000 over the same addrs)`, unit: 'probes/s', runs: sonde.map(rate), peer: fp('fping chunked', chunked.map(rate)) });
    out.line(
      `sonde loss: ${sonde.map((b) => `${b.lost}/${fmt(b.sent)} lost, ${b.errors} errors, ${b.duplicates} duplicates, ${b.late} late, ${b.strays} strays`).join('; ')}` +
        (chunked.length ? `; fping chunked: ${chunked.map((b) => `${b.sent - b.received}/${fmt(b.sent)} lost`).join('; ')}; best form: ${best.map((b) => `${b.sent - b.received}/${fmt(b.sent)} lost`).join('; ')}` : ''),
    );
    out.fig({ name: 'sonde RTT p50', unit: 'µs', runs: sonde.map((b) => us(b.p50)), peer: fp('fping', chunked.map((b) => us(pct(b.rtts, 0.5)))) });
    out.fig({ name: 'sonde RTT p99', unit: 'µs', runs: sonde.map((b) => us(b.p99)), peer: fp('fping', chunked.map((b) => us(pct(b.rtts, 0.99)))) });
    // All threads of each process (the sonde child's process.cpuUsage, fping's under GNU time), so a
    // rate gained by burning more cores shows here.
    const perEcho = (b: { sent: number; cpuSeconds: number }) => us(b.cpuSeconds / b.sent);
    out.fig({ name: 'sonde burst CPU per echo, against fping best form', unit: 'µs', runs: sonde.map(perEcho), peer: { name: 'fping best form', runs: best.map(perEcho) } });
    out.fig({ name: 'sonde burst CPU', unit: 's', runs: sonde.map((b) => b.cpuSeconds), peer: fp('fping chunked', chunked.map((b) => b.cpuSeconds)) });
    out.fig({ name: 'sonde burst peak RSS', unit: 'MiB', runs: sonde.map((b) => b.maxRssKiB / 1024), peer: fp('fping chunked', chunked.map((b) => b.maxRssKiB / 1024)) });
    out.cdf(`ICMP RTT, ${what} (first run)`, 'µs', { sonde: (sonde[0]?.rttQuantiles ?? []).map(us), fping: Array.from(chunked[0]?.rtts ?? []).map(us) });
    const bad = sonde.filter((b) => !accounted(b) || b.duplicates !== 0);
    if (bad.length > 0) out.line(`sonde: WARNING: ${bad.length} runs where sent != received + lost + errors or with duplicates`);
    if (sonde.some((b) => b.lost > 0)) out.line(`sonde: WARNING: loss on a clean lab (median ${fmt(median(sonde.map((b) => b.lost)))} per run)`);
    if (haveFping()) out.add(icmpCli(bestTargets, opts.bestFormCount, opts.runs, tick));
  } finally {
    lab.close();
  }
  return out;
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
