import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IndexedHeap } from '../../src/schedule/heap';

function popAll(h: IndexedHeap, keys: Float64Array): number[] {
  const out: number[] = [];
  for (let id = h.peek(); id >= 0; id = h.peek()) {
    out.push(keys[id]);
    h.remove(id);
  }
  return out;
}

test('pops in key order for random input, including duplicates', () => {
  const keys = Float64Array.from({ length: 5000 }, (_, i) => (i * 7919) % 1009);
  const h = new IndexedHeap(keys);
  for (let i = 0; i < keys.length; i++) h.push(i);
  assert.deepEqual(popAll(h, keys), [...keys].sort((a, b) => a - b));
  assert.equal(h.size, 0);
});

test('fill heapifies every id; update and remove keep the order', () => {
  const keys = Float64Array.from({ length: 3000 }, (_, i) => (i * 104729) % 2003);
  const h = new IndexedHeap(keys);
  h.fill(keys.length);
  for (let i = 0; i < keys.length; i += 3) {
    keys[i] = (i * 31) % 977; // re-keyed in place, as the scheduler does after each run
    h.update(i);
  }
  for (let i = 1; i < keys.length; i += 7) h.remove(i);
  const left = [...keys].filter((_, i) => (i - 1) % 7 !== 0 || i < 1);
  assert.equal(h.size, left.length);
  assert.deepEqual(popAll(h, keys), left.sort((a, b) => a - b));
});
