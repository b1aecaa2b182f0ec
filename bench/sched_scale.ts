// Scenario `sched_scale` (issue #11, scenario 3): a million scheduled targets for a bounded run.
// Each measurement runs in a process of its own (bench/sched_child.ts), so its RSS is its own:
//   daemon: the real daemon with one task of TARGETS hourly tcp targets added through
//           Daemon.changeTasks, real probes over loopback (few due in the run): RSS, bytes per target.
//   dispatch: scheduler + health stage + last results with a no-op runner, every target due every
//           10 s: busy ns per probe on the JS thread, timer drift p50/p99, event-loop lag p99, probes/s.
// No peer runs the same schedule, so the lines carry no ratio; the targets of the issue are
// printed beside (1 GB for a million targets, 1 µs per probe, lag p99 under 10 ms).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ChildFigures } from './sched_child';
import { median, report } from './lib/stats';

export interface SchedScaleOptions {
  runs: number;
  targets: number;
  seconds: number;
}

/** The figures as a plain object, for the report writer (medians over the runs). */
export interface SchedScaleFigures {
  targets: number;
  seconds: number;
  runs: number;
  rssMiB: number;
  bytesPerTarget: number;
  realProbesPerSecond: number;
  dispatchNsPerProbe: number;
  busyNsPerProbe: number;
  driftP50Ms: number;
  driftP99Ms: number;
  lagP99Ms: number;
  probesPerSecond: number;
  /** every run, as the children reported them */
  samples: ChildFigures[];
}

const CHILD = path.join(__dirname, 'sched_child.js');
const run = promisify(execFile);

async function child(mode: 'daemon' | 'dispatch', targets: number, seconds: number): Promise<ChildFigures> {
  const { stdout } = await run(process.execPath, ['--expose-gc', CHILD, mode, String(targets), String(seconds)], { timeout: (seconds + 300) * 1000, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as ChildFigures;
}

export let lastSchedScale: SchedScaleFigures | undefined;

export async function schedScaleFigures(o: SchedScaleOptions): Promise<SchedScaleFigures> {
  const daemon: ChildFigures[] = [];
  const dispatch: ChildFigures[] = [];
  for (let i = 0; i < o.runs; i++) {
    daemon.push(await child('daemon', o.targets, o.seconds));
    dispatch.push(await child('dispatch', o.targets, o.seconds));
  }
  const m = (xs: ChildFigures[], f: (c: ChildFigures) => number | undefined) => median(xs.map((c) => f(c) ?? NaN));
  lastSchedScale = {
    targets: o.targets,
    seconds: o.seconds,
    runs: o.runs,
    rssMiB: m(daemon, (c) => c.rssMiB),
    bytesPerTarget: m(daemon, (c) => c.bytesPerTarget),
    realProbesPerSecond: m(daemon, (c) => c.probesPerSecond),
    dispatchNsPerProbe: m(dispatch, (c) => c.dispatchNsPerProbe),
    busyNsPerProbe: m(dispatch, (c) => c.busyNsPerProbe),
    driftP50Ms: m(dispatch, (c) => c.driftP50Ms),
    driftP99Ms: m(dispatch, (c) => c.driftP99Ms),
    lagP99Ms: m(dispatch, (c) => c.lagP99Ms),
    probesPerSecond: m(dispatch, (c) => c.probesPerSecond),
    samples: [...daemon, ...dispatch],
  };
  return lastSchedScale;
}

export async function schedScale(o: SchedScaleOptions): Promise<string[]> {
  const f = await schedScaleFigures(o);
  const daemon = f.samples.filter((s) => s.mode === 'daemon');
  const dispatch = f.samples.filter((s) => s.mode === 'dispatch');
  const runs = (xs: ChildFigures[], k: keyof ChildFigures) => xs.map((x) => Number(x[k]));
  return [
    `${o.targets.toLocaleString('en-US')} targets, ${o.seconds} s per run`,
    report({ name: 'daemon RSS, one hourly tcp task (target: 1024 MiB at 1,000,000)', unit: 'MiB', runs: runs(daemon, 'rssMiB') }),
    report({ name: 'bytes per scheduled target (daemon RSS after - before the task)', unit: 'B', runs: runs(daemon, 'bytesPerTarget') }),
    report({ name: 'real tcp probes over loopback (hourly: few due)', unit: 'probes/s', runs: runs(daemon, 'probesPerSecond') }),
    report({ name: 'dispatch cost per probe, inside the scheduler (target: 1,000 ns)', unit: 'ns', runs: runs(dispatch, 'dispatchNsPerProbe') }),
    report({ name: 'JS thread busy per probe, whole pipeline with a no-op runner (GC included)', unit: 'ns', runs: runs(dispatch, 'busyNsPerProbe') }),
    report({ name: 'timer drift p50', unit: 'ms', runs: runs(dispatch, 'driftP50Ms') }),
    report({ name: 'timer drift p99', unit: 'ms', runs: runs(dispatch, 'driftP99Ms') }),
    report({ name: 'event-loop lag p99 (target: under 10 ms)', unit: 'ms', runs: runs(dispatch, 'lagP99Ms') }),
    report({ name: 'probes sustained, every target due every 10 s', unit: 'probes/s', runs: runs(dispatch, 'probesPerSecond') }),
  ];
}
