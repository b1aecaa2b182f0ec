// The scheduler's seams: what a run does (JobRunner), what may hold a run (RunGate), what it is told
// (SchedulerOptions callbacks) and what it counts (ScheduleCounts).
import type { Logger } from 'pino';
import type { SchedulerSettings, Tenant } from '../config/types';
import type { ProbeResult } from '../result';
import type { Clock } from './clock';
import type { ShedReason } from './overload';
import type { Job, TaskBlock } from './plan';

export type { ShedReason } from './overload';

/**
 * Runs one probe of the job. It resolves with a result whatever happens to the target (failures are
 * results); `signal` aborts when the scheduler stops and its grace is over.
 */
export type JobRunner = (job: Job, signal: AbortSignal) => Promise<ProbeResult>;

/**
 * busy: the row's previous run was still waiting or in flight; stall: its time passed while the
 * event loop was blocked (the row resumed on its grid); held: its circuit breaker is open;
 * reload: it was waiting for a slot when its task changed or was removed.
 */
export type SkipCause = 'busy' | 'stall' | 'held' | 'reload';

/** Asked before a due run is queued: false holds it (an open circuit breaker, src/health/breaker.ts). */
export interface RunGate {
  admit(block: TaskBlock, row: number, now: number): boolean;
}

export interface SchedulerOptions {
  logger: Logger;
  runner: JobRunner;
  /** wall clock, timers and jitter source (default: the real ones) */
  clock?: Clock;
  onResult: (job: Job, result: ProbeResult) => void;
  onSkip?: (job: Job, count: number, cause: SkipCause) => void;
  /** a run shed under overload (its task's QoS class) */
  onShed?: (job: Job, reason: ShedReason) => void;
  /** a run whose turn came while its tenant was at its quota (counted once per run) */
  onThrottle?: (tenant: string) => void;
  /** probes in flight at once over every task (--max-in-flight, else scheduler.max_in_flight) */
  maxInFlight?: number;
  /** the `scheduler:` section (max_in_flight is overridden by maxInFlight) */
  settings?: Partial<SchedulerSettings>;
  tenants?: ReadonlyMap<string, Tenant>;
  gate?: RunGate;
  /** event-loop lag now, seconds (src/schedule/overload.ts LagMonitor) */
  lag?: () => number;
  /** probes in flight outside the scheduler (/probe requests): best_effort runs leave them room */
  external?: () => number;
}

export interface ScheduleCounts {
  due: number;
  /** runs started; those an engine shed are also in shed.engine */
  started: number;
  skipped: Record<SkipCause, number>;
  /** queue and lag: never started (due = started + skipped + shed.queue + shed.lag + waiting); engine: started, then shed */
  shed: Record<ShedReason, number>;
}
