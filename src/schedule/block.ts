// The scheduler's state of one task: the rows in the order of their grid points (a ring), and per
// ring position its row's grid point (Float64Array) and state bits (Uint8Array), and a FIFO of the
// positions due and waiting for a slot (a ring of positions, grown on demand: a row waits at most
// once). All rows of a task share its interval, so the order of their grid points never changes:
// the next row due is the one after the last, a cursor on a ring, O(1) per run with no heap over a
// million rows (whose sift-downs missed the cache at every level). Grid points and state are kept by
// ring position, not by row, so that a run reads them where the last run did (the rows of a ring
// are scattered: by row, each run missed the cache twice at a million targets). Jittered runs wait
// in a small heap of due times, holding only the positions between their grid point and their
// jitter. 13 bytes a row at rest (25 with jitter), no object per row; a changed task gets a new
// block, an unchanged one keeps this one.
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
  /** by ring position (place()): the grid point of the run of row rowAt(p) */
  anchor: Float64Array = new Float64Array(0);
  /** by ring position: WAITING, RUNNING, THROTTLED */
  readonly state: Uint8Array;
  /** the ring: rows by grid point (place()); `cursor` is the position of the next one due */
  private order = new Uint32Array(0);
  private cursor = 0;
  /** jitter > 0: by position, when the run due now actually runs, and the heap of those pending */
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

  /** The row at ring position `p`. */
  rowAt(p: number): number {
    return this.order[p];
  }

  /**
   * Puts the rows on their grid points (`a`, by row) in ring order, in O(n log n) by a native sort
   * of numbers: each key packs the grid point (to 2^-31 of the span) above the row. Once, before
   * the block runs.
   */
  place(a: Float64Array): void {
    const n = this.size;
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < n; r++) {
      if (a[r] < lo) lo = a[r];
      if (a[r] > hi) hi = a[r];
    }
    const order = new Uint32Array(n);
    let anchor: Float64Array;
    if (n <= ROW_SPACE) {
      const scale = hi > lo ? 2 ** 31 / (hi - lo) : 0;
      const keys = new Float64Array(n);
      for (let r = 0; r < n; r++) keys[r] = Math.min(2 ** 31 - 1, Math.floor((a[r] - lo) * scale)) * ROW_SPACE + r;
      keys.sort();
      for (let i = 0; i < n; i++) order[i] = keys[i] % ROW_SPACE;
      anchor = keys; // the sort keys are done with: their array takes the grid points by position
    } else {
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((x, y) => a[x] - a[y]);
      anchor = new Float64Array(n);
    }
    for (let p = 0; p < n; p++) anchor[p] = a[order[p]];
    this.order = order;
    this.anchor = anchor;
    this.cursor = 0;
  }

  /** Every row's grid point, by row (what a changed task carries over): O(n). */
  anchorsByRow(): Float64Array {
    const out = new Float64Array(this.size);
    for (let p = 0; p < this.order.length; p++) out[this.order[p]] = this.anchor[p];
    return out;
  }

  /** When the next run of this block is due (a grid point reached, or a jittered run), Infinity: none. */
  nextDue(): number {
    const ring = this.order.length > 0 ? this.ringDue(this.cursor) : Infinity;
    const j = this.jittered?.peek() ?? -1;
    return j >= 0 ? Math.min(ring, (this.due as Float64Array)[j]) : ring;
  }

  /**
   * The ring position of the next run due at `now`, -1: none yet. A row whose grid point came
   * draws its jitter and waits in the jitter heap; it is returned when that time comes. The caller
   * moves the grid point on (anchor[p]) before asking again.
   */
  takeDue(now: number, random: () => number): number {
    // Without jitter (the common case), the ring alone: its next run is due or nothing is.
    if (this.jittered === undefined) {
      if (this.order.length === 0 || this.anchor[this.cursor] > now) return -1;
      const p = this.cursor;
      this.advance();
      return p;
    }
    for (;;) {
      const j = this.jittered.peek();
      const jd = j >= 0 ? (this.due as Float64Array)[j] : Infinity;
      const p = this.order.length > 0 ? this.cursor : -1;
      const a = p >= 0 ? this.ringDue(p) : Infinity;
      if (a <= now && a <= jd) {
        // Jitter as long as the interval: the previous run of this row is still pending; it goes now.
        if (this.jittered.has(p)) {
          this.jittered.remove(p);
          return p;
        }
        (this.due as Float64Array)[p] = a + random() * this.jitterMs;
        this.jittered.push(p);
        this.advance();
        continue;
      }
      if (jd > now) return -1;
      this.jittered.remove(j);
      return j;
    }
  }

  /**
   * After a stall longer than the interval every row skipped ahead to its first grid point after
   * the stall: the ring's order holds, but its start is the row now due first.
   */
  resync(): void {
    let best = 0;
    for (let p = 1; p < this.order.length; p++) if (this.anchor[p] < this.anchor[best]) best = p;
    this.cursor = best;
  }

  /** When the ring reaches position `p`: its grid point, or the one after while its jittered run is pending. */
  private ringDue(p: number): number {
    return this.jittered?.has(p) ? this.anchor[p] + this.period : this.anchor[p];
  }

  private advance(): void {
    this.cursor = this.cursor + 1 === this.order.length ? 0 : this.cursor + 1;
  }

  /** the position first in line, -1: none waiting */
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

  /** Every waiting position, in order, then none (a removed task, shedding). */
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
