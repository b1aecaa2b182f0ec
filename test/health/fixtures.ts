// Configs and results for the health stage and the outputs after it: no sockets, no clock.
import { loadConfigString } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import type { ProbeResult } from '../../src/result';
import type { Job } from '../../src/schedule/plan';

export interface TaskOptions {
  name?: string;
  targets?: number;
  maxSeries?: number;
  failureThreshold?: number;
  successThreshold?: number;
  /** YAML flow mapping, e.g. `{team: web}` */
  labels?: string;
}

export function taskYaml(o: TaskOptions = {}): string {
  // 127.0.0.1:1000, :1001, ... then on to 127.0.1.1 past 60,000 targets
  const target = (i: number): string => `"127.0.${Math.floor(i / 60_000)}.1:${1000 + (i % 60_000)}"`;
  const list = Array.from({ length: o.targets ?? 1 }, (_, i) => target(i)).join(', ');
  return [
    `  - name: ${o.name ?? 't'}`,
    '    module: tcp_connect',
    '    interval: 10s',
    `    max_target_series: ${o.maxSeries ?? 10}`,
    ...(o.failureThreshold ? [`    failure_threshold: ${o.failureThreshold}`] : []),
    ...(o.successThreshold ? [`    success_threshold: ${o.successThreshold}`] : []),
    ...(o.labels ? [`    labels: ${o.labels}`] : []),
    `    targets: [${list}]`,
  ].join('\n');
}

/** A config of tcp_connect tasks (one per options object). */
export function config(...tasks: TaskOptions[]): Config {
  const body = (tasks.length ? tasks : [{}]).map(taskYaml).join('\n');
  return loadConfigString(`modules:\n  tcp_connect:\n    prober: tcp\ntasks:\n${body}\n`, 'test.yml');
}

let clock = 1_700_000_000_000;

/** A result of the job; startedAt advances by a second per result, so transition times are known. */
export function result(job: Job, success: boolean, extra: Partial<ProbeResult> = {}): ProbeResult {
  clock += 1000;
  return {
    target: job.target,
    module: job.module.name,
    prober: 'tcp',
    success,
    reason: success ? undefined : 'refused',
    message: success ? undefined : 'connect ECONNREFUSED',
    startedAt: clock,
    durationSeconds: 0.002,
    phases: { resolve: 0, connect: 0.001 },
    ...extra,
  };
}

/** A trace result whose path hashes to `pathHash`. */
export function traceResult(job: Job, pathHash: number, success = true): ProbeResult {
  return result(job, success, {
    prober: 'trace',
    ...(success ? {} : { reason: 'trace_incomplete' }),
    trace: { proto: 'icmp', reached: success, hops: [], flows: 1, pathHash },
  });
}
