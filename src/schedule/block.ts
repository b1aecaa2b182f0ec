// The scheduler's state of one task: per row its grid point and due time (Float64Array), its state
// bits (Uint8Array), its place in the block's heap of due times, and a FIFO of the rows due and
// waiting for a slot (a ring of row ids, grown on demand: a row waits at most once). 25 bytes a
// row at rest, no object per row; a changed task gets a new block, an unchanged one keeps this one.
import type { TaskBlock } from './plan';
import type { TenantState } from './limits';
import { IndexedHeap } from './heap';
import { qosRank } from './overload';

/** Bits of SchedBlock.state. */
export const WAITING = 1;
export const RUNNING = 2;
/** the run waiting now was counted as throttled by its tenant (once per run) */
export const THROTTLED = 4;

export class SchedBlock {
  readonly anchor: Float64Array;
  readonly due: Float64Array;
  readonly state: Uint8Array;
  readonly heap: IndexedHeap;
  /** ms */
  readonly period: number;
  readonly jitterMs: number;
  /** 0 critical, 1 standard, 2 best_effort */
  readonly rank: number;
  /** task.max_concurrency, 0: none */
  readonly maxConcurrency: number;
  inFlight = 0;
  /** slot in the scheduler's heap of blocks */
  slot = -1;
  /** in the scheduler's list of blocks with waiting runs */
  active = false;
  removed = false;
  private queue = new Uint32Array(0);
  private qHead = 0;
  qLen = 0;

  constructor(
    readonly plan: TaskBlock,
    readonly tenant: TenantState,
  ) {
    const n = plan.targets.length;
    const t = plan.task;
    this.anchor = new Float64Array(n);
    this.due = new Float64Array(n);
    this.state = new Uint8Array(n);
    this.heap = new IndexedHeap(this.due);
    this.period = t.interval * 1000;
    this.jitterMs = t.jitter > 0 ? t.jitter * 1000 : 0;
    this.rank = qosRank(t.qos);
    this.maxConcurrency = t.max_concurrency ?? 0;
  }

  get size(): number {
    return this.plan.targets.length;
  }

  /** The grid point of row `r` at or after `now`. */
  nextAnchor(r: number, now: number): number {
    const offset = this.plan.phase[r] * this.period;
    return Math.ceil((now - offset) / this.period) * this.period + offset;
  }

  /** Moves row `r` to the run at `anchor`, its due time that plus jitter (the caller re-keys the heap). */
  place(r: number, anchor: number, random: () => number): void {
    this.anchor[r] = anchor;
    this.due[r] = this.jitterMs > 0 ? anchor + random() * this.jitterMs : anchor;
  }

  /** the row first in line, -1: none waiting */
  head(): number {
    return this.qLen > 0 ? this.queue[this.qHead] : -1;
  }

  enqueue(r: number): void {
    if (this.qLen === this.queue.length) this.growQueue();
    this.queue[(this.qHead + this.qLen) % this.queue.length] = r;
    this.qLen++;
  }

  dequeue(): number {
    const r = this.queue[this.qHead];
    this.qHead = (this.qHead + 1) % this.queue.length;
    this.qLen--;
    return r;
  }

  /** Every waiting row, in order, then none (a removed task, shedding). */
  drainQueue(each: (r: number) => void): void {
    while (this.qLen > 0) each(this.dequeue());
  }

  private growQueue(): void {
    const cap = Math.min(Math.max(64, this.queue.length * 2), Math.max(this.size, 1));
    const q = new Uint32Array(cap);
    for (let i = 0; i < this.qLen; i++) q[i] = this.queue[(this.qHead + i) % this.queue.length];
    this.queue = q;
    this.qHead = 0;
  }
}
