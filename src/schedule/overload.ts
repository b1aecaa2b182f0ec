// When the scheduler sheds: the QoS classes in order, and the overload level from the two signs of
// overload the `scheduler:` section bounds (runs waiting for a slot, event-loop lag). Level 1 sheds
// best_effort runs; level 2 (twice a bound) sheds standard runs too; critical runs are never shed.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { QOS_CLASSES, type QosClass } from '../config/types';

/**
 * queue, lag: the scheduler shed the run before it started (the two bounds below); engine: the run
 * started but a native engine shed its probe at its door (src/native/qos.ts): no result either.
 */
export type ShedReason = 'queue' | 'lag' | 'engine';

/** index of a class in QOS_CLASSES: 0 critical, 1 standard, 2 best_effort */
export function qosRank(qos: QosClass | undefined): number {
  const i = QOS_CLASSES.indexOf(qos ?? 'standard');
  return i < 0 ? 1 : i;
}

/** Classes shed at `level`: ranks >= SHED_FROM[level] (3: none). */
const SHED_FROM = [3, 2, 1] as const;

/** The overload level now (no object: asked for every due run): `queued` runs waiting, `lagSeconds` the loop's recent p99 lag. */
export function overloadLevel(queued: number, shedQueue: number, lagSeconds: number, shedLag: number): number {
  const worst = Math.max(shedQueue > 0 ? queued / shedQueue : 0, shedLag > 0 ? lagSeconds / shedLag : 0);
  return worst >= 2 ? 2 : worst > 1 ? 1 : 0;
}

/** Which bound is the further past: the reason a run shed now is counted under. */
export function shedReason(queued: number, shedQueue: number, lagSeconds: number, shedLag: number): ShedReason {
  return (shedQueue > 0 ? queued / shedQueue : 0) >= (shedLag > 0 ? lagSeconds / shedLag : 0) ? 'queue' : 'lag';
}

/** Whether a run of class `rank` is shed at `level`. */
export function shedAt(level: number, rank: number): boolean {
  return rank >= SHED_FROM[level];
}

/**
 * Event-loop lag, p99 over the last window (perf_hooks.monitorEventLoopDelay): what the scheduler
 * reads before each batch of due runs. The window rolls every `windowMs`; the timer is unref'd.
 */
const RESOLUTION_MS = 10;

export class LagMonitor {
  private readonly h: IntervalHistogram;
  private p99 = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(windowMs = 1000) {
    this.h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.h.enable();
    this.timer = setInterval(() => {
      // The histogram counts the timer's own resolution in each delay: the lag is what exceeds it.
      this.p99 = this.h.count > 0 ? Math.max(0, this.h.percentile(99) / 1e9 - RESOLUTION_MS / 1000) : 0;
      this.h.reset();
    }, windowMs);
    this.timer.unref();
  }

  /** seconds */
  lag(): number {
    return this.p99;
  }

  close(): void {
    clearInterval(this.timer);
    this.h.disable();
  }
}
