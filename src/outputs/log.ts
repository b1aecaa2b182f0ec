// One log line per probe: failures at warn with their reason, successes at debug.
import type { Logger } from 'pino';
import type { Job } from '../schedule/plan';
import type { ProbeResult } from '../result';

export function logResult(logger: Logger, job: Job, r: ProbeResult): void {
  const fields = {
    task: job.task.name,
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
