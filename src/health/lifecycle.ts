// Task lifecycle (issue 11): one state per task, read from the health stage's per-target up/down and
// transitions (it consumes the stage's public API; the stage knows nothing of it).
//   Pending  validated and planned (or changed, or resumed), and no target has met a threshold yet
//            (none has success_threshold successes in a row, and not every target is down)
//   Running  at least one target is up after thresholds, and a target has met its success threshold
//            (or the task recovered from Failed): the up/down counts say how many
//   Failed   every target is down (each met its failure_threshold): 0 of N up
//   Paused   the task says paused: true; nothing else moves it
// A target not probed yet counts as up, as the health stage has it, so "every target down" needs
// every target to have failed. Per result the cost is one map lookup; only a Pending task reads
// the target's streak. Transition times are the results' (ms); plan changes take the clock's.
import type { Task } from '../config/types';
import type { ProbeResult } from '../result';
import type { Job } from '../schedule/plan';
import type { HealthStage, Transition } from './stage';

export const TASK_STATES = ['pending', 'running', 'failed', 'paused'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskStatus {
  state: TaskState;
  /** unix ms of the last state change */
  since: number;
  /** why it is in this state (a sentence) */
  reason: string;
  targets: number;
  up: number;
  down: number;
}

interface Entry {
  task: Task;
  state: TaskState;
  since: number;
  reason: string;
}

/** Whether a reload or an API change changed what the task probes or how (else it keeps its state). */
export function sameTask(a: Task, b: Task): boolean {
  if (a === b) return true;
  const scalar = (t: Task) => [t.module, t.interval, t.timeout, t.jitter, t.success_threshold, t.failure_threshold, t.max_target_series, t.tenant, t.qos, t.paused === true, t.max_concurrency];
  const [x, y] = [scalar(a), scalar(b)];
  if (x.some((v, i) => v !== y[i])) return false;
  if (JSON.stringify(a.labels) !== JSON.stringify(b.labels) || JSON.stringify(a.breaker) !== JSON.stringify(b.breaker)) return false;
  if (a.targets.length !== b.targets.length) return false;
  for (let i = 0; i < a.targets.length; i++) if (a.targets[i] !== b.targets[i]) return false;
  const [la, lb] = [a.target_labels, b.target_labels];
  if (la === lb) return true;
  if (la === undefined || lb === undefined || la.length !== lb.length) return false;
  return la.every((l, i) => l === lb[i] || JSON.stringify(l) === JSON.stringify(lb[i]));
}

export type LifecycleListener = (task: Task, from: TaskState | undefined, to: TaskState, reason: string) => void;

export class TaskLifecycle {
  private byName = new Map<string, Entry>();
  private readonly listeners: LifecycleListener[] = [];

  constructor(
    private readonly health: HealthStage,
    private readonly now: () => number = Date.now,
  ) {
    health.subscribe((t) => this.onTransition(t));
  }

  /** Listens to state changes (logs, tests); listeners run synchronously. */
  subscribe(l: LifecycleListener): void {
    this.listeners.push(l);
  }

  /** The whole plan (after health.setPlan): unchanged tasks keep their state, the others start. */
  setTasks(tasks: readonly Task[]): void {
    const next = new Map<string, Entry>();
    for (const task of tasks) next.set(task.name, this.planned(task));
    this.byName = next;
  }

  /** Part of the plan changed (after the health stage has the new plan): O(changed tasks). */
  changeTasks(upsert: readonly Task[], remove: readonly string[]): void {
    for (const name of remove) this.byName.delete(name);
    for (const task of upsert) this.byName.set(task.name, this.planned(task));
  }

  private planned(task: Task): Entry {
    const old = this.byName.get(task.name);
    const at = this.now();
    if (task.paused) return old?.state === 'paused' ? { ...old, task } : this.moved(task, old, 'paused', at, 'paused: true');
    if (old && old.state !== 'paused' && sameTask(old.task, task)) return { ...old, task };
    return this.moved(task, old, 'pending', at, old === undefined ? 'planned, no target has met a threshold yet' : old.state === 'paused' ? 'resumed' : 'changed');
  }

  private moved(task: Task, old: Entry | undefined, state: TaskState, since: number, reason: string): Entry {
    const e: Entry = { task, state, since, reason };
    for (const l of [...this.listeners]) l(task, old?.state, state, reason);
    return e;
  }

  private set(e: Entry, state: TaskState, at: number, reason: string): void {
    const from = e.state;
    e.state = state;
    e.since = at;
    e.reason = reason;
    for (const l of [...this.listeners]) l(e.task, from, state, reason);
  }

  /**
   * One result, after the health stage counted it: a Pending task starts Running when the target
   * met its success threshold, or Failed when every target is down (states kept over a change).
   */
  record(job: Job, result: ProbeResult): void {
    const e = this.byName.get(job.task.name);
    if (e === undefined || e.state !== 'pending' || e.task !== job.task) return;
    const at = result.startedAt + result.durationSeconds * 1000;
    const counts = this.health.taskCounts(job.task.name);
    if (counts === undefined) return;
    if (!result.success) {
      if (counts.up === 0) this.failed(e, counts.targets, job.target, result, at);
      return;
    }
    const h = this.health.target(job);
    if (h === undefined || !h.up || h.streak < job.task.success_threshold) return;
    this.set(e, 'running', at, `${job.target} met the success threshold (${h.streak} in a row); ${counts.up} of ${counts.targets} targets up`);
  }

  private failed(e: Entry, targets: number, target: string, result: ProbeResult, at: number): void {
    const why = result.reason ? `: ${result.reason}` : '';
    this.set(e, 'failed', at, `every target down (0 of ${targets} up); last ${target}${why}`);
  }

  private onTransition(t: Transition): void {
    if (t.kind === 'path_changed') return;
    const e = this.byName.get(t.task.name);
    if (e === undefined || e.task !== t.task || e.state === 'paused') return;
    const counts = this.health.taskCounts(t.task.name);
    if (counts === undefined) return;
    if (t.kind === 'down' && counts.up === 0) {
      if (e.state !== 'failed') this.failed(e, counts.targets, t.target, t.result, t.at);
    } else if (t.kind === 'up' && e.state === 'failed') {
      this.set(e, 'running', t.at, `${t.target} up again (${counts.up} of ${counts.targets} targets up)`);
    }
  }

  /** The state of a planned task, with its up/down counts; undefined: no such task. */
  status(name: string): TaskStatus | undefined {
    const e = this.byName.get(name);
    if (e === undefined) return undefined;
    const counts = this.health.taskCounts(name) ?? { targets: e.task.targets.length, up: e.task.targets.length };
    return { state: e.state, since: e.since, reason: e.reason, targets: counts.targets, up: counts.up, down: counts.targets - counts.up };
  }

  /** Every planned task with its state, in plan order. */
  *entries(): IterableIterator<{ task: Task; status: TaskStatus }> {
    for (const name of this.byName.keys()) {
      const status = this.status(name);
      if (status) yield { task: this.byName.get(name)!.task, status };
    }
  }
}
