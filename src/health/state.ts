// Per-target health state, one slot per planned (task, target), in typed arrays: 21 bytes a target
// plus its entry in the key map, no object or closure per target; a reload copies the state of the
// targets still planned into the new table.

/** Bits of TargetTable.flags. */
export const UP = 1;
export const LAST_SUCCESS = 2;
export const HAS_PATH = 4;

/** State a target starts in: up, as if its last result had succeeded (nothing is known yet). */
const INITIAL = UP | LAST_SUCCESS;

const MAX_STREAK = 0xffffffff;

export class TargetTable {
  /** job key (task name + target) → slot */
  private slots = new Map<string, number>();
  flags = new Uint8Array(0);
  /** consecutive results equal to the last one (saturates) */
  streak = new Uint32Array(0);
  /** trace tasks: FNV-1a hash of the last path seen (valid with HAS_PATH) */
  pathHash = new Uint32Array(0);
  /** unix ms of the last up/down change; 0: none since the target was planned */
  changedAt = new Float64Array(0);
  /** index of the target's task in the plan's task list */
  task = new Uint32Array(0);

  get size(): number {
    return this.slots.size;
  }

  slotOf(key: string): number | undefined {
    return this.slots.get(key);
  }

  /**
   * A new plan: `keys[i]` gets slot i (task index `tasks[i]`); a key that was planned before keeps
   * its state, a new one starts up.
   */
  replan(keys: readonly string[], tasks: ArrayLike<number>): void {
    const n = keys.length;
    const old = { slots: this.slots, flags: this.flags, streak: this.streak, pathHash: this.pathHash, changedAt: this.changedAt };
    this.slots = new Map();
    this.flags = new Uint8Array(n);
    this.streak = new Uint32Array(n);
    this.pathHash = new Uint32Array(n);
    this.changedAt = new Float64Array(n);
    this.task = Uint32Array.from(tasks);
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      this.slots.set(key, i);
      const was = old.slots.get(key);
      if (was === undefined) {
        this.flags[i] = INITIAL;
        continue;
      }
      this.flags[i] = old.flags[was];
      this.streak[i] = old.streak[was];
      this.pathHash[i] = old.pathHash[was];
      this.changedAt[i] = old.changedAt[was];
    }
  }

  /** Counts one result into the streak; returns the new streak. */
  countResult(slot: number, success: boolean): number {
    const f = this.flags[slot];
    const same = (f & LAST_SUCCESS) !== 0 === success;
    const streak = same ? Math.min(this.streak[slot] + 1, MAX_STREAK) : 1;
    this.streak[slot] = streak;
    this.flags[slot] = success ? f | LAST_SUCCESS : f & ~LAST_SUCCESS;
    return streak;
  }

  isUp(slot: number): boolean {
    return (this.flags[slot] & UP) !== 0;
  }

  setUp(slot: number, up: boolean, at: number): void {
    this.flags[slot] = up ? this.flags[slot] | UP : this.flags[slot] & ~UP;
    this.changedAt[slot] = at;
  }

  /** Records a trace path hash; returns the previous one when the path changed, else undefined. */
  notePath(slot: number, hash: number): number | undefined {
    const had = (this.flags[slot] & HAS_PATH) !== 0;
    const previous = this.pathHash[slot];
    this.pathHash[slot] = hash;
    this.flags[slot] |= HAS_PATH;
    return had && previous !== hash ? previous : undefined;
  }
}
