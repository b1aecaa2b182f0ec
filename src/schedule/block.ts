// The scheduler's state of one task: per row its grid point (Float64Array) and state bits
// (Uint8Array), the rows in the order of their grid points, and a FIFO of the rows due and waiting
// for a slot (a ring of row ids, grown on demand: a row waits at most once). All rows of a task share
// its interval, so the order of their grid points never changes: the next row due is the one after
// the last, a cursor on a ring, O(1) per run with no heap over a million rows (whose sift-downs
// missed the cache at every level). Jittered runs wait in a small heap of due times, holding only
// the rows between their grid point and their jitter. 13 bytes a row at rest (25 with jitter), no
// object per row; a changed task gets a new block, an unchanged one keeps this one.
import type { TaskBlock } from './plan';
import type { TenantState } from './limits';
import { IndexedHeap } from './heap';
import { qosRank } from './overload';

/** Rows a packed sort key holds (2^21, past 2 million rows the sort compares rows instead). */
const ROW_SPACE = 2 ** 21;

/** Bits of SchedBlock.state. */
export const WAITING = 1;
export const RUNNING = 2;
/** the run waiting now was counted as throttled by its tenant (once per run) */
export const THROTTLED = 4;

export class SchedBlock {
  readonly anchor: Float64Array;
  readonly state: Uint8Array;
  /** rows by grid point (arrange()); `cursor` is the next one due */
  private order = new Uint32Array(0);
  private cursor = 0;
  /** jitter > 0: when each row's run due now actually runs, and the heap of those pending */
  readonly due: Float64Array | undefined;
  private readonly jittered: IndexedHeap | undefined;
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
  /** rows skipped ahead in this tick (a stall): the cursor must be found again */
  skippedAhead = false;
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
    this.state = new Uint8Array(n);
    this.period = t.interval * 1000;
    this.jitterMs = t.jitter > 0 ? t.jitter * 1000 : 0;
    if (this.jitterMs > 0) {
      this.due = new Float64Array(n);
      this.jittered = new IndexedHeap(this.due);
    }
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

  /**
   * Orders the rows by their grid points once they are placed (anchor[] set), in O(n log n) by a
   * native sort of numbers: each key packs the grid point (to 2^-31 of the span) above the row.
   */
  arrange(): void {
    const n = this.size;
    const a = this.anchor;
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < n; r++) {
      if (a[r] < lo) lo = a[r];
      if (a[r] > hi) hi = a[r];
    }
    const order = new Uint32Array(n);
    if (n <= ROW_SPACE) {
      const scale = hi > lo ? 2 ** 31 / (hi - lo) : 0;
      const keys = new Float64Array(n);
      for (let r = 0; r < n; r++) keys[r] = Math.min(2 ** 31 - 1, Math.floor((a[r] - lo) * scale)) * ROW_SPACE + r;
      keys.sort();
      for (let i = 0; i < n; i++) order[i] = keys[i] % ROW_SPACE;
    } else {
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((x, y) => a[x] - a[y]);
    }
    this.order = order;
    this.cursor = 0;
  }

  /** When the next run of this block is due (a grid point reached, or a jittered run), Infinity: none. */
  nextDue(): number {
    const ring = this.size > 0 ? this.ringDue(this.order[this.cursor]) : Infinity;
    const j = this.jittered?.peek() ?? -1;
    return j >= 0 ? Math.min(ring, (this.due as Float64Array)[j]) : ring;
  }

  /**
   * The next row whose run is due at `now`, -1: none yet. A row whose grid point came draws its
   * jitter and waits in the jitter heap; it is returned when that time comes. The caller moves the
   * row's grid point on (anchor[r]) before asking again.
   */
  takeDue(now: number, random: () => number): number {
    for (;;) {
      const j = this.jittered?.peek() ?? -1;
      const jd = j >= 0 ? (this.due as Float64Array)[j] : Infinity;
      const r = this.size > 0 ? this.order[this.cursor] : -1;
      const a = r >= 0 ? this.ringDue(r) : Infinity;
      if (a <= now && a <= jd) {
        if (this.jittered === undefined) {
          this.advance();
          return r;
        }
        // Jitter as long as the interval: the previous run of this row is still pending; it goes now.
        if (this.jittered.has(r)) {
          this.jittered.remove(r);
          return r;
        }
        (this.due as Float64Array)[r] = a + random() * this.jitterMs;
        this.jittered.push(r);
        this.advance();
        continue;
      }
      if (jd > now) return -1;
      this.jittered?.remove(j);
      return j;
    }
  }

  /**
   * After a stall longer than the interval every row skipped ahead to its first grid point after
   * the stall: the ring's order holds, but its start is the row now due first.
   */
  resync(): void {
    let best = 0;
    for (let i = 1; i < this.size; i++) if (this.anchor[this.order[i]] < this.anchor[this.order[best]]) best = i;
    this.cursor = best;
  }

  /** When the ring reaches row `r`: its grid point, or the one after while its jittered run is pending. */
  private ringDue(r: number): number {
    return this.jittered?.has(r) ? this.anchor[r] + this.period : this.anchor[r];
  }

  private advance(): void {
    this.cursor = this.cursor + 1 === this.size ? 0 : this.cursor + 1;
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
