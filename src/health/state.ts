// Per-target health state of one task, one row per planned target, in typed arrays: 13 bytes a
// target (17 for trace tasks, whose path hashes are kept), no object, closure or key per target.
// A changed task's new rows take the state of the targets it kept (by rowMap), so thresholds
// carry over a reload; an unchanged task keeps its rows as they are.
import { rowMap, type TaskBlock } from '../schedule/plan';

/** Bits of TaskRows.flags. */
export const UP = 1;
export const LAST_SUCCESS = 2;
export const HAS_PATH = 4;

/** State a target starts in: up, as if its last result had succeeded (nothing is known yet). */
const INITIAL = UP | LAST_SUCCESS;

const MAX_STREAK = 0xffffffff;

export class TaskRows {
  readonly flags: Uint8Array;
  /** consecutive results equal to the last one (saturates) */
  readonly streak: Uint32Array;
  /** unix ms of the last up/down change; 0: none since the target was planned */
  readonly changedAt: Float64Array;
  /** trace tasks: FNV-1a hash of the last path seen (valid with HAS_PATH), made on the first path */
  pathHash: Uint32Array | undefined;
  /** rows down now */
  down = 0;

  constructor(
    readonly plan: TaskBlock,
    prev?: TaskRows,
  ) {
    const n = plan.targets.length;
    this.flags = new Uint8Array(n).fill(INITIAL);
    this.streak = new Uint32Array(n);
    this.changedAt = new Float64Array(n);
    if (prev) this.carry(prev);
  }

  private carry(prev: TaskRows): void {
    const map = rowMap(prev.plan, this.plan);
    if (prev.pathHash) this.pathHash = new Uint32Array(map.length);
    for (let i = 0; i < map.length; i++) {
      const was = map[i];
      if (was < 0) continue;
      this.flags[i] = prev.flags[was];
      this.streak[i] = prev.streak[was];
      this.changedAt[i] = prev.changedAt[was];
      if (this.pathHash) this.pathHash[i] = (prev.pathHash as Uint32Array)[was];
      if ((this.flags[i] & UP) === 0) this.down++;
    }
  }

  get size(): number {
    return this.flags.length;
  }

  /** Counts one result into the streak; returns the new streak. */
  countResult(row: number, success: boolean): number {
    const f = this.flags[row];
    const same = (f & LAST_SUCCESS) !== 0 === success;
    const streak = same ? Math.min(this.streak[row] + 1, MAX_STREAK) : 1;
    this.streak[row] = streak;
    this.flags[row] = success ? f | LAST_SUCCESS : f & ~LAST_SUCCESS;
    return streak;
  }

  isUp(row: number): boolean {
    return (this.flags[row] & UP) !== 0;
  }

  setUp(row: number, up: boolean, at: number): void {
    if (up !== this.isUp(row)) this.down += up ? -1 : 1;
    this.flags[row] = up ? this.flags[row] | UP : this.flags[row] & ~UP;
    this.changedAt[row] = at;
  }

  /** Records a trace path hash; returns the previous one when the path changed, else undefined. */
  notePath(row: number, hash: number): number | undefined {
    const paths = (this.pathHash ??= new Uint32Array(this.size));
    const had = (this.flags[row] & HAS_PATH) !== 0;
    const previous = paths[row];
    paths[row] = hash;
    this.flags[row] |= HAS_PATH;
    return had && previous !== hash ? previous : undefined;
  }
}
