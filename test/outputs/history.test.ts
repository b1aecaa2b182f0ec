// The /probe history ring (src/outputs/history.ts): the last `limit` probes, oldest first, found by
// id and by target; older ones are gone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResultHistory } from '../../src/outputs/history';

test('the last `limit` probes, oldest first; by id and newest by target', () => {
  const h = new ResultHistory(3);
  for (let i = 0; i < 5; i++) h.add({ module: i % 2 ? 'tcp' : 'http', target: `t${i % 2}`, success: i !== 3, log: () => `log ${i}` });
  assert.deepEqual(
    h.list().map((e) => e.id),
    [2, 3, 4],
  );
  assert.equal(h.byId(1), undefined, 'pushed out');
  assert.equal(h.byId(3)?.log(), 'log 3');
  assert.equal(h.latest('t1')?.id, 3);
  assert.equal(h.latest('t0')?.id, 4);
  assert.equal(h.latest('t0', 'tcp'), undefined);
  assert.equal(h.latest('nowhere'), undefined);
});

test('fewer probes than the limit, and a limit of 0 keeps none', () => {
  const h = new ResultHistory(100);
  h.add({ module: 'm', target: 't', success: true, log: () => '' });
  assert.deepEqual(
    h.list().map((e) => e.id),
    [0],
  );
  const none = new ResultHistory(0);
  none.add({ module: 'm', target: 't', success: true, log: () => '' });
  assert.deepEqual(none.list(), []);
  assert.equal(none.latest('t'), undefined);
});
