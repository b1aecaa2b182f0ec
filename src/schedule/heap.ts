// A binary min-heap keyed by a number: the scheduler's queue of next run times. O(log n) per
// operation and one array, so a million jobs cost one array slot each rather than a timer each.
// Keys sit in their own array of doubles, read once at push: a sift compares contiguous numbers
// instead of loading a field from an object per level (with thousands of jobs, cache misses were
// most of the scheduler's time). An item's key must not change while it is in the heap.
export class MinHeap<T> {
  private readonly items: T[] = [];
  private readonly keys: number[] = [];
  constructor(private readonly key: (item: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    const ks = this.keys;
    const k = this.key(item);
    let i = a.length;
    a.push(item);
    ks.push(k);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ks[p] <= k) break;
      a[i] = a[p];
      ks[i] = ks[p];
      i = p;
    }
    a[i] = item;
    ks[i] = k;
  }

  pop(): T | undefined {
    const a = this.items;
    const ks = this.keys;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop() as T;
    const k = ks.pop() as number;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && ks[r] < ks[l] ? r : l;
        if (ks[c] >= k) break;
        a[i] = a[c];
        ks[i] = ks[c];
        i = c;
      }
      a[i] = last;
      ks[i] = k;
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
    this.keys.length = 0;
  }
}
