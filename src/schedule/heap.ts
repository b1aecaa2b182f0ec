// A binary min-heap of integer ids keyed by a Float64Array the owner writes (the scheduler's task
// blocks by their next due run, a task's jittered runs by their due time): ids and positions in
// Uint32/Int32 arrays, 8 bytes an id beside its key and no object. The position of each id lets the owner re-key or remove any id in O(log n).
// After changing keys[id] the owner calls update(id).
export class IndexedHeap {
  private ids: Uint32Array;
  /** id → index in `ids`, -1: not in the heap */
  private pos: Int32Array;
  private n = 0;

  constructor(
    private keys: Float64Array,
    capacity = keys.length,
  ) {
    this.ids = new Uint32Array(capacity);
    this.pos = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.n;
  }

  /** Room for ids below `capacity`, keyed by `keys` (a grown copy of the old key array). */
  grow(capacity: number, keys: Float64Array): void {
    this.keys = keys;
    if (capacity <= this.pos.length) return;
    const ids = new Uint32Array(capacity);
    ids.set(this.ids.subarray(0, this.n));
    const pos = new Int32Array(capacity).fill(-1);
    pos.set(this.pos);
    this.ids = ids;
    this.pos = pos;
  }

  has(id: number): boolean {
    return this.pos[id] >= 0;
  }

  /** the id with the smallest key, -1: empty */
  peek(): number {
    return this.n > 0 ? this.ids[0] : -1;
  }

  push(id: number): void {
    const i = this.n++;
    this.ids[i] = id;
    this.pos[id] = i;
    this.up(i);
  }

  /** Every id below `count`, in O(count) (Floyd's heapify): a new task block. */
  fill(count: number): void {
    for (let i = 0; i < count; i++) {
      this.ids[i] = i;
      this.pos[i] = i;
    }
    this.n = count;
    for (let i = (count >> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** The key of `id` changed: moves it to its place. */
  update(id: number): void {
    const i = this.pos[id];
    if (i < 0) return;
    this.down(this.up(i));
  }

  remove(id: number): void {
    const i = this.pos[id];
    if (i < 0) return;
    this.pos[id] = -1;
    const last = --this.n;
    if (i === last) return;
    const moved = this.ids[last];
    this.ids[i] = moved;
    this.pos[moved] = i;
    this.down(this.up(i));
  }

  clear(): void {
    for (let i = 0; i < this.n; i++) this.pos[this.ids[i]] = -1;
    this.n = 0;
  }

  private up(i: number): number {
    const { ids, pos, keys } = this;
    const id = ids[i];
    const k = keys[id];
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pid = ids[p];
      if (keys[pid] <= k) break;
      ids[i] = pid;
      pos[pid] = i;
      i = p;
    }
    ids[i] = id;
    pos[id] = i;
    return i;
  }

  private down(i: number): void {
    const { ids, pos, keys, n } = this;
    const id = ids[i];
    const k = keys[id];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let ck = keys[ids[l]];
      if (r < n) {
        const rk = keys[ids[r]];
        if (rk < ck) {
          c = r;
          ck = rk;
        }
      }
      if (ck >= k) break;
      const cid = ids[c];
      ids[i] = cid;
      pos[cid] = i;
      i = c;
    }
    ids[i] = id;
    pos[id] = i;
  }
}
