// The last result of every planned target, for GET /results, with the task's labels and the
// target's health (src/health/stage.ts). Per task in typed arrays: when it started, how long it took
// and its reason as a small code, 13 bytes a target; the whole result only for tasks within
// max_target_series (the tasks whose targets are shown one by one anyway). A removed task's rows go.
import type { HealthStage } from '../health/stage';
import type { ProbeResult } from '../result';
import { jobOf, rowMap, rowNow, type Job, type TaskBlock } from '../schedule/plan';
import { resultToJSON } from './json';
import { round } from './json_numbers';

/** reason text ↔ code; code 0 is success. Reasons are a closed set (docs/reasons.md), far below 255. */
const REASONS: string[] = [''];
const CODES = new Map<string, number>([['', 0]]);
const OTHER = 255;

function codeOf(r: ProbeResult): number {
  if (r.success) return 0;
  const reason = r.reason ?? 'internal';
  let c = CODES.get(reason);
  if (c === undefined) {
    c = REASONS.length < OTHER ? REASONS.push(reason) - 1 : OTHER;
    CODES.set(reason, c);
  }
  return c;
}

class LatestRows {
  /** unix ms the last probe started; 0: none yet */
  readonly at: Float64Array;
  readonly duration: Float32Array;
  readonly reason: Uint8Array;
  /** whole results: tasks within max_target_series only */
  readonly full: (ProbeResult | undefined)[] | undefined;

  constructor(
    readonly plan: TaskBlock,
    prev?: LatestRows,
  ) {
    const n = plan.targets.length;
    this.at = new Float64Array(n);
    this.duration = new Float32Array(n);
    this.reason = new Uint8Array(n);
    if (n <= plan.task.max_target_series) this.full = new Array<ProbeResult | undefined>(n);
    if (!prev) return;
    const map = rowMap(prev.plan, plan);
    for (let i = 0; i < n; i++) {
      const was = map[i];
      if (was < 0) continue;
      this.at[i] = prev.at[was];
      this.duration[i] = prev.duration[was];
      this.reason[i] = prev.reason[was];
      if (this.full && prev.full) this.full[i] = prev.full[was];
    }
  }
}

export interface LatestEntry {
  /** the target as now planned: its task gives name and labels */
  job: Job;
  /** the whole last result, when kept (see LatestRows.full) */
  result?: ProbeResult;
}

export class LatestResults {
  private readonly tasks = new Map<string, LatestRows>();

  constructor(private readonly health?: HealthStage) {}

  /** Tasks added or changed (their targets kept keep their last result), tasks removed. */
  applyTasks(upsert: readonly TaskBlock[], remove: readonly string[] = []): void {
    for (const name of remove) this.tasks.delete(name);
    for (const plan of upsert) {
      const old = this.tasks.get(plan.task.name);
      if (old?.plan !== plan) this.tasks.set(plan.task.name, new LatestRows(plan, old));
    }
  }

  /** The whole plan: tasks not given are dropped. */
  setPlan(blocks: readonly TaskBlock[]): void {
    const names = new Set(blocks.map((b) => b.task.name));
    this.applyTasks(
      blocks,
      [...this.tasks.keys()].filter((n) => !names.has(n)),
    );
  }

  record(job: Job, result: ProbeResult): void {
    const t = this.tasks.get(job.task.name);
    if (t === undefined) return;
    const row = rowNow(t.plan, job);
    if (row < 0) return; // the target left the plan while in flight
    t.at[row] = result.startedAt || 1;
    t.duration[row] = result.durationSeconds;
    t.reason[row] = codeOf(result);
    if (t.full) t.full[row] = result;
  }

  /** Up to `limit` results, optionally of one task. */
  list(task?: string, limit = 1000): LatestEntry[] {
    const out: LatestEntry[] = [];
    for (const t of task === undefined ? this.tasks.values() : [this.tasks.get(task)]) {
      if (t === undefined) continue;
      for (let row = 0; row < t.at.length && out.length < limit; row++) {
        if (t.at[row] === 0) continue;
        out.push({ job: jobOf(t.plan, row), result: t.full?.[row] });
      }
    }
    return out;
  }

  /** One /results entry: task, labels, the result's JSON (or its summary), then the target's health. */
  toJSON(e: LatestEntry): Record<string, unknown> {
    const h = this.health?.target(e.job);
    const health =
      h === undefined
        ? null
        : {
            up: h.up,
            streak: h.streak,
            last_change: h.changedAt === undefined ? null : new Date(h.changedAt).toISOString(),
          };
    const { task, row } = e.job;
    const labels = task.target_labels?.[row] ? { ...task.labels, ...task.target_labels[row] } : task.labels;
    return { task: task.name, labels, ...(e.result ? resultToJSON(e.result) : this.summary(e.job)), health };
  }

  /** What a task above max_target_series keeps of a result: the fields /results shows first. */
  private summary(job: Job): Record<string, unknown> {
    const t = this.tasks.get(job.task.name);
    const row = t ? rowNow(t.plan, job) : -1;
    if (t === undefined || row < 0) return { target: job.target };
    const code = t.reason[row];
    return {
      target: job.target,
      module: job.module.name,
      prober: job.module.prober,
      success: code === 0,
      reason: code === 0 ? null : (REASONS[code] ?? 'other'),
      started_at: new Date(t.at[row]).toISOString(),
      duration_seconds: round(t.duration[row]),
      summarized: true,
    };
  }
}
