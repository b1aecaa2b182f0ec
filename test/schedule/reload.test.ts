// Reloads and task changes on a fake clock: an unchanged task keeps its block, state and rhythm
// (nothing of it is touched), a changed task restarts on its grid without a herd, a removed one
// stops; jitter and phases spread runs evenly over the interval.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config, Module } from '../../src/config/types';
import { diffTasks, planTask, type TaskBlock } from '../../src/schedule/plan';
import { Harness, taskJobs } from './sched_harness';

/** starts per `bucketMs` window from `from` to `to` (ms since T0) */
function histogram(starts: number[], from: number, to: number, bucketMs: number): number[] {
  const out = Array<number>(Math.ceil((to - from) / bucketMs)).fill(0);
  for (const t of starts) if (t >= from && t < to) out[Math.floor((t - from) / bucketMs)]++;
  return out;
}

const hashed = (name: string, n: number) => {
  // taskJobs gives even phases; these use the plan's hashed phases, as the daemon does.
  const [j] = taskJobs(name, 1);
  const targets = Array.from({ length: n }, (_, i) => `127.0.${i >> 8}.${i & 255}:80`);
  const block = planTask({ ...j.task, targets }, j.module);
  return { block, targets };
};

test('hashed phases and jitter spread 2000 targets evenly over the interval', async () => {
  let s = 11;
  const random = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 0x100000000);
  const h = new Harness({ random });
  const { block } = hashed('t', 2000);
  h.sched.applyTasks([{ ...block, task: { ...block.task, jitter: 5 } }]);
  h.sched.start();
  await h.clock.advance(40_000);
  // From 10 s on (the jitter of the first interval has settled), every second holds ~200 starts.
  const perSecond = histogram(h.starts.map((x) => x.at), 10_000, 40_000, 1000);
  assert.ok(
    perSecond.every((n) => n > 120 && n < 280),
    `starts per second: ${perSecond.join(' ')}`,
  );
});

test('no herd after a reload that changes a task: its targets keep their grid points', async () => {
  const h = new Harness();
  const { block } = hashed('t', 2000);
  h.sched.applyTasks([block]);
  h.sched.start();
  await h.clock.advance(3300);
  const changed: TaskBlock = planTask({ ...block.task, labels: { team: 'b' } }, block.module);
  h.sched.applyTasks([changed]);
  await h.clock.advance(16_700);
  const per100ms = histogram(h.starts.map((x) => x.at), 3300, 20_000, 100);
  assert.ok(Math.max(...per100ms) <= 45, `no burst after the reload (most starts in 100 ms: ${Math.max(...per100ms)}, mean 20)`);
  assert.equal(h.starts.length, 4000, 'each target once per interval, the reload neither adding nor dropping a run');
  assert.equal(h.sched.skipped, 0);
});

test('an unchanged task is left alone by a change of another: same block, same runs as without it', async () => {
  const bTargets = (n: number) => Array.from({ length: n }, (_, i) => `127.0.7.${i + 1}:80`);
  const run = async (reload: boolean) => {
    const h = new Harness({ random: () => 0.5 });
    const a = taskJobs('a', 50, { jitter: 2 });
    h.plan([...a, ...taskJobs('b', 0, { targets: bTargets(5) })]);
    h.sched.start();
    await h.clock.advance(3500);
    const before = h.sched.planned('a');
    if (reload) {
      h.plan([...taskJobs('a', 50, { jitter: 2 }), ...taskJobs('b', 0, { targets: bTargets(6), interval: 4 })]); // a equal (new objects), b changed
      assert.equal(h.sched.planned('a'), before, 'the unchanged task keeps its block: its rows are not even read');
    }
    await h.clock.advance(30_000);
    return h.starts.filter((x) => !x.target.startsWith('127.0.7.')).map((x) => `${x.target}@${x.at}`);
  };
  const plain = await run(false);
  const reloaded = await run(true);
  assert.ok(plain.length >= 150, `${plain.length} runs of a`);
  assert.deepEqual(reloaded, plain, "a's runs are exactly those it makes without the reload");
});

test('a removed task stops; its waiting runs are counted as skipped (reload)', async () => {
  const h = new Harness({ maxInFlight: 1, duration: () => 5000 });
  h.plan([...taskJobs('keep', 0, { targets: ['127.0.0.1:1'] }, [0]), ...taskJobs('gone', 0, { targets: ['127.0.0.2:1', '127.0.0.3:1'] }, [0.01, 0.02])]);
  h.sched.start();
  await h.clock.advance(1000);
  assert.equal(h.sched.queued, 2);
  h.plan(taskJobs('keep', 0, { targets: ['127.0.0.1:1'] }, [0]));
  await h.clock.advance(20_000);
  assert.deepEqual(new Set(h.startOrder), new Set(['127.0.0.1:1']));
  assert.equal(h.sched.counts.skipped.reload, 2);
  const c = h.sched.counts;
  assert.equal(c.due, c.started + h.sched.skipped + h.sched.queued);
});

test('diffTasks: equal tasks (new objects) are untouched; changed, added and removed ones are listed', () => {
  const module = { name: 'm', prober: 'tcp' } as Module;
  const [x] = taskJobs('x', 3);
  const [y] = taskJobs('y', 3);
  const [z] = taskJobs('z', 3);
  const current = new Map([x, y, z].map((j) => [j.task.name, planTask(j.task, module)]));
  const config: Config = {
    source: 'test',
    modules: new Map([['m', module]]),
    tasks: [structuredClone(x.task), { ...structuredClone(y.task), interval: 30 }, { ...structuredClone(z.task), name: 'w' }],
  };
  const { upsert, remove } = diffTasks(current, config);
  assert.deepEqual(
    upsert.map((t) => t.name),
    ['y', 'w'],
  );
  assert.deepEqual(remove, ['z']);
  const other: Config = { ...config, modules: new Map([['m', { ...module, timeout: 3 } as Module]]) };
  assert.deepEqual(
    diffTasks(current, other).upsert.map((t) => t.name),
    ['x', 'y', 'w'],
    'a changed module changes the tasks that use it',
  );
});

test('a paused task stays planned but runs nothing; unpaused, it runs on its grid again', async () => {
  const h = new Harness();
  h.plan(taskJobs('p', 0, { targets: ['127.0.0.1:1'], paused: true }, [0.5]));
  h.sched.start();
  await h.clock.advance(20_000);
  assert.deepEqual(h.starts, []);
  assert.ok(h.sched.planned('p'), 'still planned');
  assert.equal(h.sched.counts.due, 0, 'a paused task has no due runs (none is counted as lost)');
  h.plan(taskJobs('p', 0, { targets: ['127.0.0.1:1'] }, [0.5]));
  await h.clock.advance(20_000);
  assert.deepEqual(h.startsOf('127.0.0.1:1'), [25_000, 35_000]);
});

test('after a stall longer than the interval, 100 targets each resume once per interval, none held behind another', async () => {
  const h = new Harness();
  const jobs = taskJobs('s', 100, { interval: 1 });
  h.plan(jobs);
  h.sched.start();
  await h.clock.advance(2_345);
  await h.clock.stall(10_250);
  const from = h.elapsed + 1000; // one interval after the loop woke
  await h.clock.advance(4_000);
  for (const j of jobs) {
    const after = h.startsOf(j.target).filter((t) => t >= from && t < from + 3000);
    assert.equal(after.length, 3, `${j.target}: ${after.join(' ')}`);
    for (const t of after) assert.ok(Math.abs(((t - j.phase * 1000) % 1000 + 1000) % 1000) < 1e-6, `${j.target} on its grid at ${t}`);
  }
  const c = h.sched.counts;
  assert.equal(c.due, c.started + h.sched.skipped + h.sched.queued);
});
