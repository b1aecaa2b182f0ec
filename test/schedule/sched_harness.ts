// A scheduler on a fake clock with a fake runner: each run takes a chosen time on that clock (or
// until the stop signal aborts it), and every start, result and skip is recorded in ms since T0.
import { loadConfigString } from '../../src/config/load';
import type { Module, Task } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import type { ProbeResult } from '../../src/result';
import { jobOf, planJobs, planTask, sameTask, type Job, type TaskBlock } from '../../src/schedule/plan';
import { Scheduler, type JobRunner, type SchedulerOptions, type SkipCause } from '../../src/schedule/scheduler';
import { FakeClock } from './fake_clock';

/** The fake clock's start: a multiple of every interval used in the tests, so grid points are round. */
export const T0 = 1_700_000_000_000;

export interface TaskSpec {
  interval: string;
  jitter?: string;
  /** how many targets (jobs) */
  targets: number;
  /** exact phases instead of the plan's hashed ones, one per target */
  phases?: number[];
}

/** Jobs of one task "t" as the plan makes them; the targets are never contacted. */
export function makeJobs(spec: TaskSpec): Job[] {
  const targets = Array.from({ length: spec.targets }, (_, i) => JSON.stringify(`127.0.0.1:${9001 + i}`));
  const cfg = loadConfigString(
    'modules:\n  m:\n    prober: tcp\n' +
      `tasks:\n  - name: t\n    module: m\n    interval: ${spec.interval}\n    timeout: ${spec.interval}\n` +
      (spec.jitter ? `    jitter: ${spec.jitter}\n` : '') +
      `    targets: [${targets.join(', ')}]\n`,
    'sched.yml',
  );
  const jobs = planJobs(cfg);
  if (!spec.phases) return jobs;
  const block = planTask(jobs[0].task, jobs[0].module, spec.phases);
  return jobs.map((_, i) => jobOf(block, i));
}

/**
 * The blocks a list of jobs stands for: a block whose rows are all there, else a new block of
 * the jobs' targets (and phases) only, as a config listing those targets would plan.
 */
function blocksFor(jobs: readonly Job[]): TaskBlock[] {
  const byTask = new Map<string, Job[]>();
  for (const j of jobs) byTask.set(j.task.name, [...(byTask.get(j.task.name) ?? []), j]);
  return [...byTask.values()].map((js) => {
    const b = js[0].block;
    if (js.length === b.targets.length && js.every((j) => j.block === b)) return b;
    return planTask(
      { ...b.task, targets: js.map((j) => j.target) },
      b.module,
      js.map((j) => j.phase),
    );
  });
}

function samePhases(a: TaskBlock, b: TaskBlock): boolean {
  return a.phase.length === b.phase.length && a.phase.every((p, i) => p === b.phase[i]);
}

export interface Run {
  target: string;
  /** ms since T0 */
  at: number;
  /** a skip's cause */
  cause?: SkipCause;
}

export interface Reported extends Run {
  result: ProbeResult;
}

export interface HarnessOptions {
  maxInFlight?: number;
  /** clock ms a run of the job takes (default 100) */
  duration?: (job: Job) => number;
  random?: () => number;
  /** wraps the fake runner (a runner with a bug) */
  wrap?: (run: JobRunner) => JobRunner;
  /** more scheduler options (bounds, tenants, gate, lag) */
  extra?: Partial<SchedulerOptions>;
}

export class Harness {
  readonly clock: FakeClock;
  readonly sched: Scheduler;
  readonly starts: Run[] = [];
  readonly results: Reported[] = [];
  readonly skips: Run[] = [];
  readonly sheds: Array<{ target: string; at: number; reason: string }> = [];
  readonly signals: AbortSignal[] = [];
  active = 0;
  maxActive = 0;
  private readonly activeBy = new Map<string, number>();
  /** the most runs of one job seen in flight together */
  maxActivePerJob = 0;

  constructor(opts: HarnessOptions = {}) {
    this.clock = new FakeClock(T0, opts.random);
    const duration = opts.duration ?? (() => 100);
    this.sched = new Scheduler({
      logger: silentLogger,
      clock: this.clock,
      maxInFlight: opts.maxInFlight ?? 100,
      runner: (opts.wrap ?? ((r) => r))((job, signal) => this.run(job, signal, duration(job))),
      onResult: (job, result) => this.results.push({ target: job.target, at: this.elapsed, result }),
      onSkip: (job, count, cause) => {
        for (let i = 0; i < count; i++) this.skips.push({ target: job.target, at: this.elapsed, cause });
      },
      onShed: (job, reason) => this.sheds.push({ target: job.target, at: this.elapsed, reason }),
      ...opts.extra,
    });
  }

  /**
   * A reload as the daemon makes it: the plan becomes these jobs' tasks; a task equal to the one
   * planned (content and phases) keeps its block, so the scheduler leaves it alone.
   */
  plan(jobs: readonly Job[]): void {
    const blocks = blocksFor(jobs).map((b) => {
      const now = this.sched.planned(b.task.name);
      return now && sameTask(now, b.task, b.module) && samePhases(now, b) ? now : b;
    });
    this.sched.setTasks(blocks);
  }

  get elapsed(): number {
    return this.clock.now() - T0;
  }

  /** start times (ms since T0) of one target's runs */
  startsOf(target: string): number[] {
    return this.starts.filter((s) => s.target === target).map((s) => s.at);
  }

  /** targets in the order their runs started */
  get startOrder(): string[] {
    return this.starts.map((s) => s.target);
  }

  private run(job: Job, signal: AbortSignal, ms: number): Promise<ProbeResult> {
    const startedAt = this.clock.now();
    this.starts.push({ target: job.target, at: startedAt - T0 });
    this.signals.push(signal);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const mine = (this.activeBy.get(job.target) ?? 0) + 1;
    this.activeBy.set(job.target, mine);
    this.maxActivePerJob = Math.max(this.maxActivePerJob, mine);
    return new Promise((resolve) => {
      const finish = (aborted: boolean): void => {
        signal.removeEventListener('abort', onAbort);
        this.clock.clearTimer(timer);
        this.active--;
        this.activeBy.set(job.target, (this.activeBy.get(job.target) ?? 1) - 1);
        const result: ProbeResult = {
          target: job.target,
          module: job.module.name,
          prober: job.module.prober,
          success: !aborted,
          startedAt,
          durationSeconds: (this.clock.now() - startedAt) / 1000,
          phases: {},
        };
        if (aborted) Object.assign(result, { reason: 'timeout', message: 'daemon stopping' });
        resolve(result);
      };
      const onAbort = (): void => finish(true);
      const timer = this.clock.setTimer(() => finish(false), ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * Jobs of a task built by hand (no YAML: tenants, qos, bounds and breakers are set directly):
 * `n` targets 127.0.0.1:9001.. (or `targets`), evenly phased over the interval unless `phases`.
 */
export function taskJobs(name: string, n: number, extra: Partial<Task> = {}, phases?: number[]): Job[] {
  const targets = extra.targets ?? Array.from({ length: n }, (_, i) => `127.0.0.1:${9001 + i}`);
  const task: Task = { name, module: 'm', targets, interval: 10, timeout: 10, jitter: 0, success_threshold: 1, failure_threshold: 1, labels: {}, max_target_series: 10, ...extra };
  const block = planTask(task, { name: 'm', prober: 'tcp' } as Module, phases ?? targets.map((_, i) => i / targets.length));
  return targets.map((_, i) => jobOf(block, i));
}
