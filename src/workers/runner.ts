// Where a probe runs: on a worker thread when its prober says its CPU cost is worth one
// (ProberDescriptor.offload: TLS, body rules, DoH) and the daemon has workers, otherwise on the
// main thread with the daemon's runtime (native engines, the fast path) and eBPF flows.
import os from 'node:os';
import type { Logger } from 'pino';
import type { Module } from '../config/types';
import type { LogFormat, LogLevel } from '../log';
import type { EngineClass } from '../native/qos';
import { proberFor } from '../probers/index';
import type { CancelSignal, FlowRegistry } from '../probers/types';
import type { ProbeResult } from '../result';
import type { Runtime } from '../runtime';
import { runProbe } from '../schedule/run_probe';
import { ProbePool } from './pool';

/**
 * The default number of probe workers: the threads this process may run on (its CPU affinity,
 * os.availableParallelism, not the host's core count: a cpuset or taskset limits sonde to fewer),
 * less one for the main thread, at least one. bench/workers.ts measured the choice (README).
 */
export function defaultWorkers(parallelism = os.availableParallelism()): number {
  return Math.max(1, parallelism - 1);
}

export interface ProbeRunnerOptions {
  /** worker threads for offloaded probes; 0: every probe on the main thread */
  workers: number;
  logger: Logger;
  logFormat?: LogFormat;
  runtime: Runtime;
  /** read at each probe: the eBPF registry may appear after the runner is made */
  flows?: () => FlowRegistry | undefined;
  /**
   * While the eBPF registry is there (attribution on), probes stay on this thread: the registry and
   * the tracer's events live here, and a probe on a worker could not be told where it was lost. Set
   * when the thread count is sonde's default; an explicit --workers moves them all the same.
   */
  attributeOnMain?: boolean;
  /** the worker entry (tests) */
  workerFile?: string;
}

/** Whether `module`'s prober sends a probe of `target` to a worker. */
export function offloads(target: string, module: Module): boolean {
  return proberFor(module.prober)?.offload?.(target, module) === true;
}

export class ProbeRunner {
  /** the worker pool; undefined with workers: 0 (its threads start on the first offloaded probe) */
  readonly pool: ProbePool | undefined;

  constructor(private readonly opts: ProbeRunnerOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 0) throw new RangeError(`options.workers must be a non-negative integer, got ${opts.workers}`);
    if (opts.workers > 0) {
      this.pool = new ProbePool({ threads: opts.workers, workerFile: opts.workerFile, setup: { logLevel: opts.logger.level as LogLevel, logFormat: opts.logFormat ?? 'json' } });
    }
  }

  /** `qos`: the probe's class in the native engines (offloaded probers use none). */
  run(target: string, module: Module, timeoutSeconds: number, signal?: CancelSignal, qos?: EngineClass): Promise<ProbeResult> {
    const flows = this.opts.flows?.();
    if (this.pool && offloads(target, module) && !(this.opts.attributeOnMain && flows !== undefined)) return this.pool.run(target, module, timeoutSeconds, signal);
    return runProbe(target, module, { timeoutSeconds, logger: this.opts.logger, runtime: this.opts.runtime, flows, signal, qos });
  }

  /** Ends the worker threads (probes still on them come back cancelled). */
  close(): Promise<void> {
    return this.pool?.close() ?? Promise.resolve();
  }
}
