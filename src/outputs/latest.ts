// The last result of every job, for GET /results. Bounded by the plan: entries of jobs that left
// the plan are dropped on reload.
import type { Job } from '../schedule/plan';
import type { ProbeResult } from '../result';

export class LatestResults {
  private readonly byKey = new Map<string, { task: string; result: ProbeResult }>();

  record(job: Job, result: ProbeResult): void {
    this.byKey.set(job.key, { task: job.task.name, result });
  }

  retain(jobs: Job[]): void {
    const keep = new Set(jobs.map((j) => j.key));
    for (const k of this.byKey.keys()) if (!keep.has(k)) this.byKey.delete(k);
  }

  /** Up to `limit` results, optionally of one task. */
  list(task?: string, limit = 1000): Array<{ task: string; result: ProbeResult }> {
    const out: Array<{ task: string; result: ProbeResult }> = [];
    for (const v of this.byKey.values()) {
      if (task && v.task !== task) continue;
      out.push(v);
      if (out.length >= limit) break;
    }
    return out;
  }
}
