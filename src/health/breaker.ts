// A circuit breaker per target (a task's `breaker:`): after `failures` failed probes in a row it
// opens and the scheduler holds the target's runs; after `cooldown` one run is let through
// (half-open): success closes it, failure opens it again for another cool-down. So an open target
// is probed once per cool-down at most. State per task in typed arrays (5 bytes a target, only for
// tasks with a breaker); it consumes the health stage's results, the scheduler asks admit().
import { SCHEDULER_DEFAULTS } from '../config/defaults';
import type { BreakerSettings } from '../config/types';
import { rowMap, type TaskBlock } from '../schedule/plan';
import type { RunGate } from '../schedule/scheduler';
import type { HealthStage } from './stage';

export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];
const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;

class BreakerRows {
  readonly state: Uint8Array;
  /** unix ms the breaker last opened */
  readonly openedAt: Float64Array;
  /** targets per state, by BREAKER_STATES index */
  readonly counts = [0, 0, 0];

  constructor(
    readonly plan: TaskBlock,
    readonly settings: BreakerSettings,
    prev?: BreakerRows,
  ) {
    const n = plan.targets.length;
    this.state = new Uint8Array(n);
    this.openedAt = new Float64Array(n);
    if (prev) {
      const map = rowMap(prev.plan, plan);
      for (let i = 0; i < n; i++) {
        if (map[i] < 0) continue;
        this.state[i] = prev.state[map[i]];
        this.openedAt[i] = prev.openedAt[map[i]];
      }
    }
    for (let i = 0; i < n; i++) this.counts[this.state[i]]++;
  }
}

export interface BreakerOptions {
  /** a target's breaker changed state */
  onTransition?: (block: TaskBlock, row: number, from: BreakerState, to: BreakerState) => void;
}

export class Breakers implements RunGate {
  private readonly tasks = new Map<string, BreakerRows>();

  constructor(
    health: HealthStage,
    private readonly opts: BreakerOptions = {},
  ) {
    health.subscribeResults((block, row, success, streak, at) => this.onResult(block, row, success, streak, at));
  }

  /** Tasks added or changed (a breaker's targets kept keep their state), tasks removed. */
  applyTasks(upsert: readonly TaskBlock[], remove: readonly string[] = []): void {
    for (const name of remove) this.tasks.delete(name);
    for (const plan of upsert) {
      const name = plan.task.name;
      const settings = plan.task.breaker ?? SCHEDULER_DEFAULTS.breaker;
      const old = this.tasks.get(name);
      if (old?.plan === plan) continue;
      if (settings.failures > 0) this.tasks.set(name, new BreakerRows(plan, settings, old));
      else this.tasks.delete(name);
    }
  }

  /** Whether the scheduler may queue a due run of the target; an open breaker past its cool-down goes half-open. */
  admit(block: TaskBlock, row: number, now: number): boolean {
    const t = this.tasks.get(block.task.name);
    if (t === undefined || t.plan !== block) return true;
    if (t.state[row] !== OPEN) return true;
    if (now < t.openedAt[row] + t.settings.cooldown * 1000) return false;
    this.move(t, row, HALF_OPEN);
    return true;
  }

  private onResult(block: TaskBlock, row: number, success: boolean, streak: number, at: number): void {
    const t = this.tasks.get(block.task.name);
    if (t === undefined || t.plan !== block) return;
    const s = t.state[row];
    if (success) {
      if (s !== CLOSED) this.move(t, row, CLOSED);
      return;
    }
    if (s === HALF_OPEN || (s === CLOSED && streak >= t.settings.failures)) {
      t.openedAt[row] = at;
      this.move(t, row, OPEN);
    }
  }

  private move(t: BreakerRows, row: number, to: number): void {
    const from = t.state[row];
    t.state[row] = to;
    t.counts[from]--;
    t.counts[to]++;
    this.opts.onTransition?.(t.plan, row, BREAKER_STATES[from], BREAKER_STATES[to]);
  }

  /** The state of one target, undefined: its task has no breaker. */
  state(block: TaskBlock, row: number): BreakerState | undefined {
    const t = this.tasks.get(block.task.name);
    return t && t.plan === block ? BREAKER_STATES[t.state[row]] : undefined;
  }

  /** Targets per state of each task with a breaker (sonde_breaker_state). */
  *stateCounts(): Generator<{ block: TaskBlock; counts: readonly number[] }> {
    for (const t of this.tasks.values()) yield { block: t.plan, counts: t.counts };
  }
}
