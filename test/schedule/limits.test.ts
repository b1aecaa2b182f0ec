// The bounds a run must fit on a fake clock: per task, per destination host, per tenant (in flight
// and probes/s), and that a tenant over its quota is throttled and counted without slowing another.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tenant } from '../../src/config/types';
import { hostOf } from '../../src/schedule/limits';
import { Harness, taskJobs } from './sched_harness';

const allAtZero = (n: number): number[] => Array<number>(n).fill(0);

function tenants(...list: Tenant[]): Map<string, Tenant> {
  return new Map(list.map((t) => [t.name, t]));
}

/** starts per task name */
function startsBy(h: Harness, prefix: string): number[] {
  return h.starts.filter((s) => s.target.startsWith(prefix)).map((s) => s.at);
}

test('hostOf names the destination of every target form', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1:80', '127.0.0.1'],
    ['Example.ORG:443', 'example.org'],
    ['[::1]:53', '::1'],
    ['::1', '::1'],
    ['198.18.0.1', '198.18.0.1'],
    ['http://user@Host.test:8080/path?q=1', 'host.test'],
    ['https://[fd5e:ed00::1]/', 'fd5e:ed00::1'],
  ];
  for (const [target, host] of cases) assert.equal(hostOf(target), host, target);
});

test('a task never has more than max_concurrency probes in flight', async () => {
  const h = new Harness({ duration: () => 5000 });
  h.plan(taskJobs('t', 10, { max_concurrency: 3 }, allAtZero(10)));
  h.sched.start();
  await h.clock.advance(9999);
  assert.equal(h.maxActive, 3);
  assert.deepEqual(h.starts.map((s) => s.at), [0, 0, 0, 5000, 5000, 5000], 'the others wait for a slot of their task');
  assert.equal(h.sched.queued, 4);
});

test('max_per_host bounds one destination; other hosts are not held behind it', async () => {
  const h = new Harness({ duration: () => 5000, extra: { settings: { max_per_host: 2 } } });
  const oneHost = Array.from({ length: 6 }, (_, i) => `127.0.0.1:${7000 + i}`);
  const mixed = [...oneHost, '127.0.0.2:7000', '127.0.0.3:7000'];
  h.plan(taskJobs('t', 0, { targets: mixed }, allAtZero(mixed.length)));
  h.sched.start();
  await h.clock.advance(1);
  assert.equal(h.active, 4, '2 to 127.0.0.1, one to each other host');
  assert.deepEqual(h.starts.filter((s) => s.target.startsWith('127.0.0.1:')).length, 2);
  assert.ok(h.startsOf('127.0.0.2:7000').length === 1 && h.startsOf('127.0.0.3:7000').length === 1);
});

test("a tenant at its max_concurrency is throttled and counted; another tenant's task runs on time", async () => {
  const h = new Harness({ duration: () => 5000, extra: { tenants: tenants({ name: 'small', max_concurrency: 2, max_probes_per_second: 0 }) } });
  const a = taskJobs('a', 10, { tenant: 'small', targets: Array.from({ length: 10 }, (_, i) => `127.0.1.1:${i + 1}`) }, allAtZero(10));
  const b = taskJobs('b', 5, { tenant: 'big', targets: Array.from({ length: 5 }, (_, i) => `127.0.2.1:${i + 1}`) }, allAtZero(5));
  h.plan([...a, ...b]);
  h.sched.start();
  await h.clock.advance(9999);
  assert.deepEqual(startsBy(h, '127.0.2.1'), [0, 0, 0, 0, 0], "the other tenant's runs all start at once");
  assert.deepEqual(startsBy(h, '127.0.1.1'), [0, 0, 5000, 5000]);
  const throttled = Object.fromEntries([...h.sched.tenantStates()].map((t) => [t.name, t.throttled]));
  // Counted when a run's turn comes and its tenant is at the bound, once per run: row 3 at 0 s,
  // rows 4 and 5 at 5 s (each after one of the two slots came back); big never waits.
  assert.deepEqual(throttled, { small: 3, big: 0 });
});

test('max_probes_per_second: a token bucket with a burst of one second, refilled on time', async () => {
  const h = new Harness({ extra: { tenants: tenants({ name: 'slow', max_concurrency: 0, max_probes_per_second: 2 }) } });
  const a = taskJobs('a', 8, { tenant: 'slow', targets: Array.from({ length: 8 }, (_, i) => `127.0.1.1:${i + 1}`) }, allAtZero(8));
  const b = taskJobs('b', 4, { targets: Array.from({ length: 4 }, (_, i) => `127.0.2.1:${i + 1}`) }, allAtZero(4));
  h.plan([...a, ...b]);
  h.sched.start();
  await h.clock.advance(9999);
  assert.deepEqual(startsBy(h, '127.0.1.1'), [0, 0, 500, 1000, 1500, 2000, 2500, 3000]);
  assert.deepEqual(startsBy(h, '127.0.2.1'), [0, 0, 0, 0], 'the default tenant is unbounded');
});

test('the global bound holds over every task and tenant; the counts add up', async () => {
  const h = new Harness({ maxInFlight: 3, duration: () => 3000 });
  h.plan([...taskJobs('a', 4, {}, allAtZero(4)), ...taskJobs('b', 0, { targets: ['127.0.0.9:1', '127.0.0.9:2'] }, [0, 0])]);
  h.sched.start();
  await h.clock.advance(25_000);
  assert.equal(h.maxActive, 3);
  const c = h.sched.counts;
  assert.equal(c.due, c.started + h.sched.skipped + c.shed.queue + c.shed.lag + h.sched.queued);
  assert.ok(h.startsOf('127.0.0.9:1').length > 0, 'round robin: the second task gets slots too');
});
