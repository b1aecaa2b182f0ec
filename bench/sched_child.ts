// One measurement of scenario sched_scale, in a process of its own so that its RSS is its own:
// `node dist/bench/sched_child.js MODE TARGETS SECONDS` prints one JSON line of figures.
//   daemon: the real Daemon, then one task of TARGETS hourly tcp targets added through
//           changeTasks; real probes over loopback (127.0.0.1:PORT answers, the rest of
//           127.0.0.0/8 refuses), few due in a bounded run. RSS before and after: bytes per target.
//   dispatch: the scheduler, health stage and last results with a no-op runner, TARGETS targets
//           due every 10 s: dispatch CPU per probe, timer drift, event-loop lag, probes/s.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Module, Task } from '../src/config/types';
import { Daemon } from '../src/daemon';
import { HealthStage } from '../src/health/stage';
import { silentLogger } from '../src/log';
import { LatestResults } from '../src/outputs/latest';
import type { ProbeResult } from '../src/result';
import { planTask } from '../src/schedule/plan';
import { Scheduler } from '../src/schedule/scheduler';

export interface ChildFigures {
  mode: string;
  targets: number;
  seconds: number;
  rssBeforeMiB?: number;
  rssMiB: number;
  bytesPerTarget?: number;
  probes: number;
  probesPerSecond: number;
  /** JS thread time inside the scheduler's timer callback (due rows, queueing, launching) per probe */
  dispatchNsPerProbe?: number;
  /** JS thread busy time per probe, the whole pipeline (promises, health, last results, GC) */
  busyNsPerProbe?: number;
  driftP50Ms?: number;
  driftP99Ms?: number;
  lagP99Ms: number;
  successes?: number;
}

function rssMiB(): number {
  const kib = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
  return kib / 1024;
}

async function settledRss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  return rssMiB();
}

/** 127.0.0.1 first, then 127.0.0.2 ... over 127.0.0.0/8 (loopback only). */
function loopbackTargets(n: number, port: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const a = i + 1;
    return `127.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}:${port}`;
  });
}

function task(name: string, targets: string[], interval: number): Task {
  return { name, module: 'tcp_connect', targets, interval, timeout: 2, jitter: 0, success_threshold: 1, failure_threshold: 1, labels: {}, max_target_series: 10 };
}

function percentile(xs: Float64Array, n: number, p: number): number {
  const s = xs.subarray(0, n).sort();
  return n === 0 ? 0 : s[Math.min(n - 1, Math.floor((p / 100) * n))];
}

async function daemonMode(targets: number, seconds: number): Promise<ChildFigures> {
  const listener = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const port = (listener.address() as net.AddressInfo).port;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-sched-'));
  const file = path.join(dir, 'sonde.yml');
  writeFileSync(file, 'modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 2s\n    tcp: {preferred_ip_protocol: ip4}\ntasks: []\n');
  const d = new Daemon({ configFile: file, listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger, ebpf: false });
  await d.start();
  const before = await settledRss();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const list = loopbackTargets(targets, port);
  const t0 = Date.now();
  d.changeTasks([task('scale', list, 3600)], []);
  const planMs = Date.now() - t0;
  lag.enable();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  lag.disable();
  const after = await settledRss();
  const res = await fetch(`http://127.0.0.1:${d.listening?.port}/metrics`);
  const text = await res.text();
  const count = (series: string) => Number(new RegExp(`^${series} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  const ok = count('sonde_probes_total\\{task="scale",result="success"\\}');
  const failed = count('sonde_probes_total\\{task="scale",result="failure"\\}');
  await d.stop();
  listener.close();
  process.stderr.write(`planned ${targets} targets in ${planMs} ms\n`);
  return {
    mode: 'daemon',
    targets,
    seconds,
    rssBeforeMiB: before,
    rssMiB: after,
    bytesPerTarget: ((after - before) * 1024 * 1024) / targets,
    probes: ok + failed,
    probesPerSecond: (ok + failed) / seconds,
    lagP99Ms: Math.max(0, lag.percentile(99) / 1e6 - 10),
    successes: ok,
  };
}

async function dispatchMode(targets: number, seconds: number): Promise<ChildFigures> {
  const interval = 10;
  const t = task('scale', loopbackTargets(targets, 9), interval);
  const block = planTask(t, { name: 'tcp_connect', prober: 'tcp' } as Module);
  const health = new HealthStage();
  const latest = new LatestResults(health);
  health.applyTasks([block]);
  latest.applyTasks([block]);
  const result: ProbeResult = { target: '', module: 'tcp_connect', prober: 'tcp', success: true, startedAt: 0, durationSeconds: 0, phases: {} };
  const done = Promise.resolve(result);
  const drift = new Float64Array(1 << 22);
  let probes = 0;
  let drifts = 0;
  let warm = Infinity;
  const period = interval * 1000;
  const sched = new Scheduler({
    logger: silentLogger,
    maxInFlight: 65536,
    settings: { max_per_host: 0 },
    runner: (job) => {
      // How late the run starts against its grid point (no jitter: the grid point is the due time).
      const now = Date.now();
      const offset = job.phase * period;
      // The rows due while the plan was made (a million rows take a moment) start late once: drift
      // is taken from the first second after the plan on.
      if (now >= warm && drifts < drift.length) drift[drifts++] = now - (Math.floor((now - offset) / period) * period + offset);
      probes++;
      return done;
    },
    onResult: (job, r) => {
      health.record(job, r);
      latest.record(job, r);
    },
  });
  const lag = monitorEventLoopDelay({ resolution: 10 });
  // The scheduler's own cost: time inside its timer callback, where due rows are taken, queued and
  // launched (the no-op runner's call included; its promise settles after).
  const inner = sched as unknown as { tick: () => void };
  const tick = inner.tick.bind(sched);
  let tickMs = 0;
  inner.tick = () => {
    const t0 = performance.now();
    tick();
    tickMs += performance.now() - t0;
  };
  const before = await settledRss();
  // Planned just before it starts: rows due while the RSS settled would start late and count as drift.
  sched.applyTasks([block]);
  warm = Date.now() + 1000;
  lag.enable();
  const elu0 = performance.eventLoopUtilization();
  sched.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  // Time the JS thread was busy (not idle in the poll phase) per probe: the scheduler, the runner's
  // promise, the health stage and the last results; GC pauses included.
  const busyMs = performance.eventLoopUtilization(elu0).active;
  lag.disable();
  await sched.stop(1000);
  const n = drifts;
  return {
    mode: 'dispatch',
    targets,
    seconds,
    rssBeforeMiB: before,
    rssMiB: rssMiB(),
    probes,
    probesPerSecond: probes / seconds,
    dispatchNsPerProbe: probes > 0 ? (tickMs * 1e6) / probes : 0,
    busyNsPerProbe: probes > 0 ? (busyMs * 1e6) / probes : 0,
    driftP50Ms: percentile(drift, n, 50),
    driftP99Ms: percentile(drift, n, 99),
    lagP99Ms: Math.max(0, lag.percentile(99) / 1e6 - 10),
  };
}

async function main(): Promise<void> {
  const [mode, targets, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  if (!(targets > 0 && targets <= 2_000_000) || !(seconds > 0 && seconds <= 600)) throw new Error('usage: sched_child.js daemon|dispatch TARGETS(1..2e6) SECONDS(1..600)');
  const figures = mode === 'daemon' ? await daemonMode(targets, seconds) : mode === 'dispatch' ? await dispatchMode(targets, seconds) : undefined;
  if (!figures) throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
