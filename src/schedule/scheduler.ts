// Runs every job of the plan on its task's interval, at the job's phase within the interval plus
// jitter, with a cap on probes in flight. Results go to one callback; nothing here knows about
// metrics or logs. A reload swaps the plan: jobs that stay keep their rhythm, in-flight probes finish.
// The runner (what a run does) and the clock (when it happens) come from outside: the daemon gives
// runProbe and the real clock, tests a fake of each (test/schedule/scheduler.test.ts).
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { ProbeResult } from '../result';
import { realClock, type Clock, type TimerHandle } from './clock';
import { MinHeap } from './heap';
import type { Job } from './plan';

/**
 * Runs one probe of the job. It resolves with a result whatever happens to the target (failures are
 * results); `signal` aborts when the scheduler stops and its grace is over.
 */
export type JobRunner = (job: Job, signal: AbortSignal) => Promise<ProbeResult>;

export type SkipCause = 'busy' | 'stall';

export interface SchedulerOptions {
  logger: Logger;
  runner: JobRunner;
  /** wall clock, timers and jitter source (default: the real ones) */
  clock?: Clock;
  onResult: (job: Job, result: ProbeResult) => void;
  /**
   * Runs not started: 'busy', the job's previous run was still waiting or in flight (overload, or
   * probes slower than the interval); 'stall', their time passed while the event loop was blocked
   * (or the host suspended), and the job resumed on its grid after the stall instead of bursting.
   */
  onSkip?: (job: Job, count: number, cause: SkipCause) => void;
  /** jobs due while this many probes are in flight wait in a FIFO */
  maxInFlight: number;
}

interface Entry {
  job: Job;
  /** grid point of this run (clock ms) */
  anchor: number;
  /** anchor plus jitter: when it actually runs */
  due: number;
}

export class Scheduler {
  private heap = new MinHeap<Entry>((e) => e.due);
  private ready: Job[] = [];
  /** anchor of each waiting run in `ready` (a parallel array: no object per run) */
  private readyAnchors: number[] = [];
  private readyHead = 0; // FIFO head: shift() would be O(n) per pop on a long queue
  /** keys of the jobs waiting in `ready`: a job waits there once, so the queue never exceeds the plan */
  private readonly waiting = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  private timer: TimerHandle | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  /** made once: arming the timer makes no closure */
  private readonly onTimer = (): void => this.tick();
  /** runs not started, whatever the cause (onSkip) */
  skipped = 0;
  /** of those, runs whose time passed during a stall */
  stalled = 0;

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? realClock;
    // Every probe in flight listens on this signal; thousands at once are normal, not a leak.
    setMaxListeners(0, this.abort.signal);
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** runs due and waiting for a slot: at most one per job */
  get queued(): number {
    return this.ready.length - this.readyHead;
  }

  /** Replaces the plan. Jobs whose key and interval are unchanged keep their next run time. */
  setPlan(jobs: Job[], now = this.clock.now()): void {
    const previous = new Map<string, Entry>();
    for (let e = this.heap.pop(); e; e = this.heap.pop()) previous.set(e.job.key, e);
    // A run still waiting for a slot keeps its place: the job resumes from that run, not the following one.
    for (let i = this.readyHead; i < this.ready.length; i++) {
      const job = this.ready[i];
      previous.set(job.key, { job, anchor: this.readyAnchors[i], due: this.readyAnchors[i] });
    }
    this.ready = [];
    this.readyAnchors = [];
    this.readyHead = 0;
    this.waiting.clear();
    for (const job of jobs) {
      const old = previous.get(job.key);
      const anchor = old && old.job.task.interval === job.task.interval ? old.anchor : this.nextAnchor(job, now);
      this.heap.push(this.entry(job, anchor));
    }
    this.arm();
  }

  /** The next grid point of the job's interval at or after `now`. */
  private nextAnchor(job: Job, now: number): number {
    const period = job.task.interval * 1000;
    const offset = job.phase * period;
    return Math.ceil((now - offset) / period) * period + offset;
  }

  private entry(job: Job, anchor: number): Entry {
    return this.place({ job, anchor, due: anchor }, anchor);
  }

  /** Moves an entry to the run at `anchor` (entries are reused: one object per job, not per run). */
  private place(e: Entry, anchor: number): Entry {
    e.anchor = anchor;
    e.due = anchor + (e.job.task.jitter > 0 ? this.clock.random() * e.job.task.jitter * 1000 : 0);
    return e;
  }

  start(): void {
    this.arm();
  }

  private arm(): void {
    if (this.stopping) return;
    this.disarm();
    const next = this.heap.peek();
    if (!next) return;
    this.timer = this.clock.setTimer(this.onTimer, Math.max(0, next.due - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (let e = this.heap.peek(); e && e.due <= now; e = this.heap.peek()) {
      this.heap.pop();
      // Demand above capacity must not grow the queue without bound (and make every run late):
      // a job whose last run still waits for a slot skips this one.
      if (this.waiting.has(e.job.key)) this.skip(e.job, 1, 'busy');
      else {
        this.waiting.add(e.job.key);
        this.ready.push(e.job);
        this.readyAnchors.push(e.anchor);
      }
      // The following run comes from the grid, not from now, so that delays don't accumulate;
      // after a long stall (event loop blocked, suspend) it skips ahead rather than bursting, and
      // the grid points it jumps over are runs skipped, so that runs due = started + skipped.
      const period = e.job.task.interval * 1000;
      const following = e.anchor + period;
      if (following > now) this.heap.push(this.place(e, following));
      else {
        const next = this.nextAnchor(e.job, now + 1);
        const missed = Math.round((next - following) / period);
        if (missed > 0) this.skip(e.job, missed, 'stall');
        this.heap.push(this.place(e, next));
      }
    }
    this.drain();
    this.arm();
  }

  private drain(): void {
    while (this.readyHead < this.ready.length && this.running.size < this.opts.maxInFlight && !this.stopping) {
      const job = this.ready[this.readyHead++];
      this.waiting.delete(job.key);
      if (this.running.has(job.key)) {
        this.skip(job, 1, 'busy');
        continue;
      }
      this.launch(job);
    }
    if (this.readyHead === this.ready.length) {
      this.ready.length = 0;
      this.readyAnchors.length = 0;
      this.readyHead = 0;
    } else if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyAnchors = this.readyAnchors.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  private skip(job: Job, count: number, cause: SkipCause): void {
    this.skipped += count;
    if (cause === 'stall') this.stalled += count;
    this.opts.onSkip?.(job, count, cause);
  }

  private launch(job: Job): void {
    let started: Promise<ProbeResult>;
    try {
      started = this.opts.runner(job, this.abort.signal);
    } catch (err) {
      started = Promise.reject(err); // a runner that throws is a bug: same path as one that rejects
    }
    const p = started.then(
      (result) => {
        // The slot goes to the next probe before the result is written out: a fast-path probe
        // reaches the engine synchronously, so it starts while the outputs of this batch run.
        this.settle(job);
        try {
          this.opts.onResult(job, result);
        } catch (err) {
          this.opts.logger.error({ err, task: job.task.name, target: job.target }, 'result output failed');
        }
      },
      (err: unknown) => {
        this.settle(job); // runners never reject; a bug there must not leak the slot
        this.opts.logger.error({ err, task: job.task.name, target: job.target }, 'probe runner failed');
      },
    );
    this.running.set(job.key, p);
  }

  private settle(job: Job): void {
    this.running.delete(job.key);
    this.drain();
  }

  /**
   * Stops starting probes and waits for those in flight; after `graceMs` the remaining ones are
   * aborted (they still report a result). Resolves when none are left.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.disarm();
    this.heap.clear();
    this.ready = [];
    this.readyAnchors = [];
    this.readyHead = 0;
    this.waiting.clear();
    const all = Promise.allSettled([...this.running.values()]);
    const grace = this.clock.setTimer(() => this.abort.abort(), graceMs);
    await all;
    this.clock.clearTimer(grace);
  }
}
