// The last result of every job, for GET /results, with the task's labels and the target's health
// (src/health/stage.ts). Bounded by the plan: entries of jobs that left the plan are dropped on reload.
import type { HealthStage } from '../health/stage';
import type { Job } from '../schedule/plan';
import type { ProbeResult } from '../result';
import { resultToJSON } from './json';

export interface LatestEntry {
  /** the job as now planned: its task gives name and labels */
  job: Job;
  result: ProbeResult;
}

export class LatestResults {
  private readonly byKey = new Map<string, LatestEntry>();

  constructor(private readonly health?: HealthStage) {}

  record(job: Job, result: ProbeResult): void {
    const e = this.byKey.get(job.key);
    if (e === undefined) this.byKey.set(job.key, { job, result });
    else e.result = result; // keeps the planned job (a result in flight across a reload has the old one)
  }

  retain(jobs: Job[]): void {
    const keep = new Map(jobs.map((j) => [j.key, j]));
    for (const [k, e] of this.byKey) {
      const job = keep.get(k);
      if (job === undefined) this.byKey.delete(k);
      else e.job = job; // labels follow the new config
    }
  }

  /** Up to `limit` results, optionally of one task. */
  list(task?: string, limit = 1000): LatestEntry[] {
    const out: LatestEntry[] = [];
    for (const v of this.byKey.values()) {
      if (task && v.job.task.name !== task) continue;
      out.push(v);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** One /results entry: task, labels, the result's JSON, then the target's health. */
  toJSON(e: LatestEntry): Record<string, unknown> {
    const h = this.health?.target(e.job.key);
    const health =
      h === undefined
        ? null
        : {
            up: h.up,
            streak: h.streak,
            last_change: h.changedAt === undefined ? null : new Date(h.changedAt).toISOString(),
          };
    return { task: e.job.task.name, labels: e.job.task.labels, ...resultToJSON(e.result), health };
  }
}
