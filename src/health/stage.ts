// The health stage: between the scheduler's results and the outputs. It applies each task's
// success_threshold / failure_threshold, keeps every target's up/down state and trace path, counts
// the targets up per task, and tells subscribers of each transition (down, up, path changed).
// Outputs render what it says (metrics, logs, /results); breakers, alerting and a status page are
// meant to subscribe the same way. Pure: no clock (times come from the results), no I/O.
import type { Task } from '../config/types';
import type { ProbeResult } from '../result';
import type { Job } from '../schedule/plan';
import { HAS_PATH, LAST_SUCCESS, TargetTable } from './state';

export type TransitionKind = 'down' | 'up' | 'path_changed';

export interface Transition {
  kind: TransitionKind;
  /** the task as currently planned (name, labels, thresholds) */
  task: Task;
  target: string;
  /** the job key, task name + target */
  key: string;
  /** the result that made the transition */
  result: ProbeResult;
  /** unix ms: when that result finished */
  at: number;
  /** down/up: equal results in a row that made the flip; path_changed: 0 */
  streak: number;
  /** path_changed: the hash of the path before, and the new one (result.trace.pathHash) */
  previousPathHash?: number;
  pathHash?: number;
}

export type TransitionListener = (t: Transition) => void;

/** One target's health, as /results shows it. */
export interface TargetHealth {
  up: boolean;
  /** results in a row equal to the last one */
  streak: number;
  lastSuccess: boolean;
  /** unix ms of the last up/down change since the target was planned, undefined: none */
  changedAt?: number;
  pathHash?: number;
}

interface TaskHealth {
  task: Task;
  targets: number;
  down: number;
}

export interface HealthOptions {
  /** a listener threw: the others still run, and so do the outputs after the stage */
  onListenerError?: (err: unknown, t: Transition) => void;
}

export class HealthStage {
  private readonly table = new TargetTable();
  private tasks: TaskHealth[] = [];
  private byName = new Map<string, TaskHealth>();
  private readonly listeners: TransitionListener[] = [];

  constructor(private readonly opts: HealthOptions = {}) {}

  /** Called with each new plan: targets still planned keep their state (thresholds carry over a reload). */
  setPlan(jobs: readonly Job[]): void {
    const byName = new Map<string, TaskHealth>();
    const tasks: TaskHealth[] = [];
    const keys: string[] = new Array<string>(jobs.length);
    const index = new Uint32Array(jobs.length);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i];
      let th = byName.get(job.task.name);
      if (th === undefined) {
        th = { task: job.task, targets: 0, down: 0 };
        byName.set(job.task.name, th);
        tasks.push(th);
      }
      th.targets++;
      keys[i] = job.key;
      index[i] = tasks.length - 1;
    }
    this.table.replan(keys, index);
    for (let slot = 0; slot < jobs.length; slot++) if (!this.table.isUp(slot)) tasks[index[slot]].down++;
    this.tasks = tasks;
    this.byName = byName;
  }

  /** Listens to transitions; returns the way to stop. Listeners run synchronously, in order. */
  subscribe(listener: TransitionListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * One result: a target flips only after N equal results in a row (the task's thresholds as now
   * planned). A result of a job no longer planned (in flight across a reload) changes nothing.
   */
  record(job: Job, result: ProbeResult): void {
    const t = this.table;
    const slot = t.slotOf(job.key);
    if (slot === undefined) return;
    const th = this.tasks[t.task[slot]];
    const { task } = th;
    const success = result.success;
    const streak = t.countResult(slot, success);
    const at = result.startedAt + result.durationSeconds * 1000;
    if (t.isUp(slot) ? !success && streak >= task.failure_threshold : success && streak >= task.success_threshold) {
      t.setUp(slot, success, at);
      th.down += success ? -1 : 1;
      this.emit(success ? 'up' : 'down', task, job, result, at, streak);
    }
    if (result.trace) {
      const hash = result.trace.pathHash >>> 0;
      const previous = t.notePath(slot, hash);
      if (previous !== undefined) this.emit('path_changed', task, job, result, at, 0, previous, hash);
    }
  }

  private emit(kind: TransitionKind, task: Task, job: Job, result: ProbeResult, at: number, streak: number, previousPathHash?: number, pathHash?: number): void {
    if (this.listeners.length === 0) return;
    const tr: Transition = { kind, task, target: job.target, key: job.key, result, at, streak };
    if (kind === 'path_changed') {
      tr.previousPathHash = previousPathHash;
      tr.pathHash = pathHash;
    }
    for (const l of [...this.listeners]) {
      try {
        l(tr);
      } catch (err) {
        if (!this.opts.onListenerError) throw err;
        this.opts.onListenerError(err, tr);
      }
    }
  }

  /** Whether a planned target is up (after thresholds); undefined: not planned. */
  isUp(key: string): boolean | undefined {
    const slot = this.table.slotOf(key);
    return slot === undefined ? undefined : this.table.isUp(slot);
  }

  target(key: string): TargetHealth | undefined {
    const t = this.table;
    const slot = t.slotOf(key);
    if (slot === undefined) return undefined;
    const flags = t.flags[slot];
    return {
      up: t.isUp(slot),
      streak: t.streak[slot],
      lastSuccess: (flags & LAST_SUCCESS) !== 0,
      ...(t.changedAt[slot] !== 0 ? { changedAt: t.changedAt[slot] } : {}),
      ...((flags & HAS_PATH) !== 0 ? { pathHash: t.pathHash[slot] } : {}),
    };
  }

  /** Targets of the task, and how many of them are up; undefined: no such task planned. */
  taskCounts(name: string): { targets: number; up: number } | undefined {
    const th = this.byName.get(name);
    return th && { targets: th.targets, up: th.targets - th.down };
  }
}
