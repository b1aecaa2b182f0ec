import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MinHeap } from '../../src/schedule/heap';

test('pops in key order for random input, including duplicates', () => {
  const h = new MinHeap<number>((n) => n);
  const input = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 1009);
  for (const n of input) h.push(n);
  const out: number[] = [];
  for (let n = h.pop(); n !== undefined; n = h.pop()) out.push(n);
  assert.deepEqual(out, [...input].sort((a, b) => a - b));
  assert.equal(h.size, 0);
});
