// The health stage: between the scheduler's results and the outputs. It applies each task's
// success_threshold / failure_threshold, keeps every target's up/down state and trace path (per task
// in typed arrays, src/health/state.ts), counts the targets up per task, and tells subscribers of
// each transition (down, up, path changed) and of each result's streak (the circuit breaker).
// Outputs render what it says (metrics, logs, /results). Pure: no clock (times come from the
// results), no I/O. Tasks change one at a time: an unchanged task keeps its rows untouched.
import type { Task } from '../config/types';
import type { ProbeResult } from '../result';
import { rowNow, type Job, type TaskBlock } from '../schedule/plan';
import { HAS_PATH, LAST_SUCCESS, TaskRows } from './state';

export type TransitionKind = 'down' | 'up' | 'path_changed';

export interface Transition {
  kind: TransitionKind;
  /** the task as currently planned (name, labels, thresholds) */
  task: Task;
  target: string;
  /** the task as planned and the target's row in it */
  block: TaskBlock;
  row: number;
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

/** Every result of a planned target: its block and row, success, the streak it makes, when it ended. */
export type ResultListener = (block: TaskBlock, row: number, success: boolean, streak: number, at: number) => void;

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

export interface HealthOptions {
  /** a listener threw: the others still run, and so do the outputs after the stage */
  onListenerError?: (err: unknown, t: Transition) => void;
}

/** A target to look up: a job, or a task's block and a row of it. */
export type RowRef = Pick<Job, 'block' | 'row' | 'target'>;

export class HealthStage {
  private readonly tasks = new Map<string, TaskRows>();
  private readonly listeners: TransitionListener[] = [];
  private readonly resultListeners: ResultListener[] = [];

  constructor(private readonly opts: HealthOptions = {}) {}

  /**
   * Tasks added or changed, and tasks removed. A changed task's targets keep their state
   * (thresholds carry over a reload); a removed task's state goes. O(rows of the tasks given).
   */
  applyTasks(upsert: readonly TaskBlock[], remove: readonly string[] = []): void {
    for (const name of remove) this.tasks.delete(name);
    for (const plan of upsert) {
      const old = this.tasks.get(plan.task.name);
      if (old?.plan === plan) continue;
      this.tasks.set(plan.task.name, new TaskRows(plan, old));
    }
  }

  /** The whole plan: tasks not given are forgotten. */
  setPlan(blocks: readonly TaskBlock[]): void {
    const names = new Set(blocks.map((b) => b.task.name));
    this.applyTasks(
      blocks,
      [...this.tasks.keys()].filter((n) => !names.has(n)),
    );
  }

  /** Listens to transitions; returns the way to stop. Listeners run synchronously, in order. */
  subscribe(listener: TransitionListener): () => void {
    return unsubscriber(this.listeners, listener);
  }

  /** Listens to every result of a planned target (after its thresholds are applied). */
  subscribeResults(listener: ResultListener): () => void {
    return unsubscriber(this.resultListeners, listener);
  }

  private rowOf(ref: RowRef): { rows: TaskRows; row: number } | undefined {
    const rows = this.tasks.get(ref.block.task.name);
    if (rows === undefined) return undefined;
    const row = rowNow(rows.plan, ref as Job);
    return row < 0 ? undefined : { rows, row };
  }

  /**
   * One result: a target flips only after N equal results in a row (the task's thresholds as now
   * planned). A result of a target no longer planned (in flight across a reload) changes nothing.
   */
  record(job: Job, result: ProbeResult): void {
    const found = this.rowOf(job);
    if (found === undefined) return;
    const { rows: t, row } = found;
    const task = t.plan.task;
    const success = result.success;
    const streak = t.countResult(row, success);
    const at = result.startedAt + result.durationSeconds * 1000;
    if (t.isUp(row) ? !success && streak >= task.failure_threshold : success && streak >= task.success_threshold) {
      t.setUp(row, success, at);
      this.emit(success ? 'up' : 'down', t.plan, row, result, at, streak);
    }
    if (result.trace) {
      const hash = result.trace.pathHash >>> 0;
      const previous = t.notePath(row, hash);
      if (previous !== undefined) this.emit('path_changed', t.plan, row, result, at, 0, previous, hash);
    }
    for (const l of this.resultListeners) l(t.plan, row, success, streak, at);
  }

  private emit(kind: TransitionKind, block: TaskBlock, row: number, result: ProbeResult, at: number, streak: number, previousPathHash?: number, pathHash?: number): void {
    if (this.listeners.length === 0) return;
    const tr: Transition = { kind, task: block.task, target: block.targets[row], block, row, result, at, streak };
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
  isUp(ref: RowRef): boolean | undefined {
    const found = this.rowOf(ref);
    return found === undefined ? undefined : found.rows.isUp(found.row);
  }

  target(ref: RowRef): TargetHealth | undefined {
    const found = this.rowOf(ref);
    if (found === undefined) return undefined;
    const { rows: t, row } = found;
    const flags = t.flags[row];
    return {
      up: t.isUp(row),
      streak: t.streak[row],
      lastSuccess: (flags & LAST_SUCCESS) !== 0,
      ...(t.changedAt[row] !== 0 ? { changedAt: t.changedAt[row] } : {}),
      ...((flags & HAS_PATH) !== 0 && t.pathHash ? { pathHash: t.pathHash[row] } : {}),
    };
  }

  /** Targets of the task, and how many of them are up; undefined: no such task planned. */
  taskCounts(name: string): { targets: number; up: number } | undefined {
    const t = this.tasks.get(name);
    return t && { targets: t.size, up: t.size - t.down };
  }
}

function unsubscriber<T>(list: T[], item: T): () => void {
  list.push(item);
  return () => {
    const i = list.indexOf(item);
    if (i >= 0) list.splice(i, 1);
  };
}
