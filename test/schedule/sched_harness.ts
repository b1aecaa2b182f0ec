// A scheduler on a fake clock with a fake runner: each run takes a chosen time on that clock (or
// until the stop signal aborts it), and every start, result and skip is recorded in ms since T0.
import { loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import type { ProbeResult } from '../../src/result';
import { planJobs, type Job } from '../../src/schedule/plan';
import { Scheduler, type JobRunner, type SkipCause } from '../../src/schedule/scheduler';
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
  return spec.phases ? jobs.map((j, i) => ({ ...j, phase: (spec.phases as number[])[i] })) : jobs;
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
}

export class Harness {
  readonly clock: FakeClock;
  readonly sched: Scheduler;
  readonly starts: Run[] = [];
  readonly results: Reported[] = [];
  readonly skips: Run[] = [];
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
    });
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
    const mine = (this.activeBy.get(job.key) ?? 0) + 1;
    this.activeBy.set(job.key, mine);
    this.maxActivePerJob = Math.max(this.maxActivePerJob, mine);
    return new Promise((resolve) => {
      const finish = (aborted: boolean): void => {
        signal.removeEventListener('abort', onAbort);
        this.clock.clearTimer(timer);
        this.active--;
        this.activeBy.set(job.key, (this.activeBy.get(job.key) ?? 1) - 1);
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
