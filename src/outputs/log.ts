// Log lines of results and of health transitions. A probe: failures at warn with their reason,
// successes at debug. A transition (src/health/stage.ts): one line each, down at warn, up and path
// changes at info. Lines of a task with `labels:` carry them.
import type { Logger } from 'pino';
import type { Task } from '../config/types';
import type { Transition } from '../health/stage';
import type { Job } from '../schedule/plan';
import type { ProbeResult } from '../result';

/** The task's labels as a log field, absent when it has none (no empty object on every line). */
function labelsField(task: Task): { labels?: Record<string, string> } {
  for (const _ in task.labels) return { labels: task.labels };
  return {};
}

export function logResult(logger: Logger, job: Job, r: ProbeResult): void {
  // Successes log at debug: at a higher level their fields are not even built (tens of thousands a second).
  if (r.success && !logger.isLevelEnabled('debug')) return;
  const fields = {
    task: job.task.name,
    ...labelsField(job.task),
    target: job.target,
    module: job.module.name,
    success: r.success,
    duration_seconds: Number(r.durationSeconds.toFixed(6)),
    phases: r.phases,
    address: r.address,
  };
  if (r.success) logger.debug(fields, 'probe succeeded');
  else logger.warn({ ...fields, reason: r.reason, detail: r.message, attribution: r.attribution }, `probe failed: ${r.reason}`);
}

export function logTransition(logger: Logger, t: Transition): void {
  const fields = { task: t.task.name, ...labelsField(t.task), target: t.target, module: t.result.module };
  switch (t.kind) {
    case 'down':
      logger.warn({ ...fields, reason: t.result.reason, detail: t.result.message, failures: t.streak }, `target down: ${t.result.reason}`);
      return;
    case 'up':
      logger.info({ ...fields, successes: t.streak }, 'target up');
      return;
    case 'path_changed':
      logger.info({ ...fields, previous_path_hash: t.previousPathHash, path_hash: t.pathHash }, 'trace path changed');
      return;
  }
}
