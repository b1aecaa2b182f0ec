// Scenario `workers`: https probes (TLS handshake and certificate check, fresh connection each)
// against a loopback nginx serving TLS, through the daemon's probe runner with 0 (main thread),
// 1 and 2 worker threads: probes/s, and CPU µs per probe (the whole process, every thread), which
// a machine shared with other work disturbs less than the rate. Each run is bounded in time and count.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { loadConfigString } from '../src/config/load';
import { ProbeRunner } from '../src/workers/runner';
import { makePKI } from '../test/lab/pki';
import { testRuntime } from '../test/runtime';
import { startNginx } from './lib/procs';
import { fmt, median, report } from './lib/stats';

export interface WorkersOptions {
  runs: number;
  seconds: number;
  /** probes in flight at once */
  concurrency: number;
  /** worker counts to compare (0: the main thread) */
  workers: number[];
  /** bound on the probes of one run, whatever the rate */
  maxProbes?: number;
  /** the bench's progress line (bench/lib/progress.ts Tick) */
  progress?: (label: string, fraction?: number) => void;
}

/** CPU µs the main thread (the scheduler's and the API's) has used: utime + stime of its /proc task, in clock ticks of 10 ms. */
function mainThreadCpuMicros(): number {
  const s = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

interface RunFigures {
  rate: number;
  cpuMicrosPerProbe: number;
  mainCpuMicrosPerProbe: number;
  /** event-loop delay p99 of the main thread, ms */
  lagP99: number;
  failed: number;
  firstFailure?: string;
}

/** `concurrency` probes kept in flight for `seconds` (or maxProbes), as the scheduler keeps its in-flight window full. */
async function drive(run: () => ReturnType<ProbeRunner['run']>, opts: WorkersOptions): Promise<RunFigures> {
  const deadline = performance.now() + opts.seconds * 1000;
  const maxProbes = opts.maxProbes ?? 1_000_000;
  let started = 0;
  let done = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMicros();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const next = (): void => {
      if (performance.now() >= deadline || started >= maxProbes) {
        if (done === started) resolve();
        return;
      }
      started++;
      void run().then((r) => {
        done++;
        if (!r.success) {
          failed++;
          firstFailure ??= `${r.reason}: ${r.message}`;
        }
        next();
      });
    };
    for (let i = 0; i < opts.concurrency; i++) next();
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lag.disable();
  const n = Math.max(1, done);
  return {
    rate: (done - failed) / seconds,
    cpuMicrosPerProbe: (cpu.user + cpu.system) / n,
    mainCpuMicrosPerProbe: (mainThreadCpuMicros() - main0) / n,
    lagP99: lag.percentile(99) / 1e6,
    failed,
    firstFailure,
  };
}

export async function workersBench(opts: WorkersOptions): Promise<string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-workers-'));
  const pki = await makePKI(dir);
  const nginx = await startNginx(0, { cert: pki.leaves.valid.certPath, key: pki.leaves.valid.keyPath });
  const module = loadConfigString(
    `modules:\n  https_2xx: {prober: http, timeout: 5s, http: {preferred_ip_protocol: ip4, tls_config: {ca_file: ${JSON.stringify(pki.ca.certPath)}}}}\n`,
    'bench-workers.yml',
  ).modules.get('https_2xx')!;
  const target = `https://127.0.0.1:${nginx.port}/`;
  const logger = pino({ level: 'silent' });
  const lines: string[] = [`host: ${os.availableParallelism()} CPUs available, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at start`];
  const byWorkers = new Map<number, { rate: number[]; cpu: number[]; main: number[]; lag: number[] }>();
  try {
    for (const w of opts.workers) byWorkers.set(w, { rate: [], cpu: [], main: [], lag: [] });
    // Runs interleaved (0,1,2,0,1,2,...): a change of load on the shared machine hits every count alike.
    for (let run = 0; run < opts.runs; run++) {
      for (const [i, w] of opts.workers.entries()) {
        opts.progress?.(`workers: ${w} threads, run ${run + 1}/${opts.runs}`, (run * opts.workers.length + i) / (opts.runs * opts.workers.length));
        const runner = new ProbeRunner({ workers: w, logger, runtime: testRuntime });
        try {
          // Warm-up: threads started, JIT warm, before the measured window.
          await drive(() => runner.run(target, module, 5), { ...opts, seconds: Math.min(1, opts.seconds), maxProbes: 200 });
          const f = await drive(() => runner.run(target, module, 5), opts);
          if (f.failed > 0) lines.push(`WARNING: ${w} workers, run ${run + 1}: ${f.failed} probes failed (first: ${f.firstFailure})`);
          const figs = byWorkers.get(w)!;
          figs.rate.push(f.rate);
          figs.cpu.push(f.cpuMicrosPerProbe);
          figs.main.push(f.mainCpuMicrosPerProbe);
          figs.lag.push(f.lagP99);
        } finally {
          await runner.close();
        }
      }
    }
  } finally {
    nginx.proc.stop();
  }
  const base = byWorkers.get(opts.workers[0])!;
  const baseName = `${opts.workers[0]} workers`;
  for (const [w, f] of byWorkers) {
    const name = w === 0 ? 'https probes on the main thread (--workers 0)' : `https probes on ${w} worker thread${w > 1 ? 's' : ''} (--workers ${w})`;
    const peer = w === opts.workers[0] ? undefined : { name: baseName, runs: base.rate };
    lines.push(report({ name: `${name}, ${opts.concurrency} in flight`, unit: 'successful probes/s', runs: f.rate, peer }));
    lines.push(report({ name: `  CPU per probe, ${w} workers (process, all threads)`, unit: 'µs', runs: f.cpu }));
    lines.push(report({ name: `  main-thread CPU per probe, ${w} workers (what the scheduler and API compete with)`, unit: 'µs', runs: f.main }));
    lines.push(report({ name: `  main-thread event-loop delay p99, ${w} workers`, unit: 'ms', runs: f.lag }));
  }
  const best = [...byWorkers].sort((a, b) => median(b[1].rate) - median(a[1].rate))[0];
  lines.push(`fastest here: --workers ${best[0]} at ${fmt(median(best[1].rate))} probes/s`);
  return lines;
}
