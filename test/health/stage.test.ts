// The health stage alone: thresholds, transitions to subscribers, reload carry-over, path changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthStage, type Transition } from '../../src/health/stage';
import { blocksOf, planJobs, planTasks } from '../../src/schedule/plan';
import { config, result, traceResult } from './fixtures';

function stage(...tasks: Parameters<typeof config>) {
  const h = new HealthStage();
  const cfg = config(...tasks);
  const jobs = planJobs(cfg);
  h.setPlan(blocksOf(jobs));
  const seen: Transition[] = [];
  h.subscribe((t) => seen.push(t));
  return { h, jobs, seen };
}

test('a target flips only after threshold results in a row', async (t) => {
  // results (1 = success), and the up state after each
  const cases: Array<{ what: string; failure: number; success: number; results: string; up: string }> = [
    { what: 'thresholds of 1: every change flips', failure: 1, success: 1, results: '1001101', up: '1001101' },
    { what: 'failure_threshold 3: a success breaks the streak', failure: 3, success: 1, results: '0010001', up: '1111101' },
    { what: 'success_threshold 2: a success alone does not bring it back', failure: 1, success: 2, results: '0101100', up: '0000100' },
    { what: 'both, as in the metrics test of today', failure: 3, success: 2, results: '0001011', up: '1100001' },
  ];
  for (const c of cases) {
    await t.test(c.what, () => {
      const { h, jobs } = stage({ failureThreshold: c.failure, successThreshold: c.success });
      const [job] = jobs;
      const ups = [...c.results].map((r) => {
        h.record(job, result(job, r === '1'));
        return h.isUp(job) ? '1' : '0';
      });
      assert.equal(ups.join(''), c.up);
    });
  }
});

test('transitions go to every subscriber with task, target, result and streak', () => {
  const { h, jobs, seen } = stage({ failureThreshold: 2, labels: '{team: web}' });
  const [job] = jobs;
  const other: string[] = [];
  const stop = h.subscribe((t) => other.push(t.kind));
  h.record(job, result(job, false));
  assert.equal(seen.length, 0, 'one failure is below the threshold');
  const second = result(job, false);
  h.record(job, second);
  assert.equal(seen.length, 1);
  const down = seen[0];
  assert.equal(down.kind, 'down');
  assert.equal(down.task.name, 't');
  assert.deepEqual(down.task.labels, { team: 'web' });
  assert.equal(down.target, '127.0.0.1:1000');
  assert.equal(down.row, job.row);
  assert.equal(down.block, job.block);
  assert.equal(down.result, second);
  assert.equal(down.streak, 2);
  assert.equal(down.at, second.startedAt + 2, 'when the result finished (2 ms)');
  h.record(job, result(job, false));
  assert.equal(seen.length, 1, 'a target already down makes no new transition');
  stop();
  h.record(job, result(job, true));
  assert.deepEqual(
    seen.map((t) => t.kind),
    ['down', 'up'],
  );
  assert.deepEqual(other, ['down'], 'an unsubscribed listener hears nothing more');
  const health = h.target(job);
  assert.deepEqual(health, { up: true, streak: 1, lastSuccess: true, changedAt: seen[1].at });
});

test('targets up per task follow the flips', () => {
  const { h, jobs } = stage({ targets: 3 }, { name: 'u', targets: 2 });
  assert.deepEqual(h.taskCounts('t'), { targets: 3, up: 3 }, 'targets start up');
  assert.deepEqual(h.taskCounts('u'), { targets: 2, up: 2 });
  for (const job of jobs) h.record(job, result(job, job.task.name === 'u' || job.target.endsWith('0')));
  assert.deepEqual(h.taskCounts('t'), { targets: 3, up: 1 });
  assert.deepEqual(h.taskCounts('u'), { targets: 2, up: 2 });
  assert.equal(h.taskCounts('nope'), undefined);
});

test('a reload keeps the state of targets still planned and forgets the others', () => {
  const { h, jobs, seen } = stage({ targets: 3, failureThreshold: 2 });
  const [a, b, c] = jobs;
  h.record(a, result(a, false));
  h.record(a, result(a, false)); // a down
  h.record(b, result(b, false)); // b one failure in
  h.record(c, result(c, false));
  h.record(c, result(c, false)); // c down
  assert.deepEqual(h.taskCounts('t'), { targets: 3, up: 1 });
  // New plan: c is gone, 127.0.0.1:1003 is new (targets 1000, 1001, 1003), same thresholds.
  const cfg = config({ targets: 4, failureThreshold: 2 });
  cfg.tasks[0].targets = cfg.tasks[0].targets.filter((t) => !t.endsWith('1002'));
  const next = planJobs(cfg);
  h.setPlan(blocksOf(next));
  assert.deepEqual(h.taskCounts('t'), { targets: 3, up: 2 }, 'a stays down, the new target starts up');
  assert.equal(h.isUp(a), false);
  assert.equal(h.isUp(c), undefined, 'c is no longer planned');
  const b2 = next[1];
  h.record(b2, result(b2, false));
  assert.equal(h.isUp(b), false, "b's failure before the reload counts towards its threshold");
  h.record(c, result(c, true));
  assert.equal(h.isUp(c), undefined, 'a result in flight across the reload for a gone target is ignored');
  assert.deepEqual(
    seen.map((t) => `${t.kind} ${t.target}`),
    ['down 127.0.0.1:1000', 'down 127.0.0.1:1002', 'down 127.0.0.1:1001'],
  );
  // The thresholds that count are the new plan's, even for a result of a job of the old plan.
  h.setPlan(planTasks(config({ targets: 4, failureThreshold: 2, successThreshold: 3 })));
  h.record(a, result(a, true));
  h.record(a, result(a, true));
  assert.equal(h.isUp(a), false, 'two successes are not three');
  h.record(a, result(a, true));
  assert.equal(h.isUp(a), true);
});

test('a path change is a transition; the first path is not', () => {
  const { h, jobs, seen } = stage();
  const [job] = jobs;
  const changes: Array<[number | undefined, number | undefined]> = [];
  for (const hash of [1, 1, 0xfffffff0, 0xfffffff0, 1]) h.record(job, traceResult(job, hash));
  for (const t of seen) if (t.kind === 'path_changed') changes.push([t.previousPathHash, t.pathHash]);
  assert.deepEqual(changes, [
    [1, 0xfffffff0],
    [0xfffffff0, 1],
  ]);
  assert.equal(h.target(job)?.pathHash, 1);
  // The path survives a reload: the next different path is a change, the same one is not.
  h.setPlan(planTasks(config()));
  h.record(job, traceResult(job, 1));
  assert.equal(seen.length, 2);
  h.record(job, traceResult(job, 7, false));
  assert.deepEqual(
    seen.map((t) => t.kind),
    ['path_changed', 'path_changed', 'down', 'path_changed'],
    'a failed trace that flips the target: down, then its path change',
  );
});

test('a throwing listener does not stop the others when an error handler is given', () => {
  const errors: string[] = [];
  const h = new HealthStage({ onListenerError: (err, t) => errors.push(`${(err as Error).message} ${t.kind}`) });
  const jobs = planJobs(config());
  h.setPlan(blocksOf(jobs));
  const seen: string[] = [];
  h.subscribe(() => {
    throw new Error('boom');
  });
  h.subscribe((t) => seen.push(t.kind));
  h.record(jobs[0], result(jobs[0], false));
  assert.deepEqual(errors, ['boom down']);
  assert.deepEqual(seen, ['down']);
});

test('state of many targets is kept without an object per target', () => {
  // 200k targets: the plan fits, every target starts up, and one result is found by its key.
  const n = 200_000;
  const h = new HealthStage();
  const cfg = config({ maxSeries: 10 });
  cfg.tasks[0].targets = Array.from({ length: n }, (_, i) => `198.18.${(i >> 8) & 255}.${i & 255}:${80 + (i >> 16)}`); // not parsed from YAML: that is slow
  const jobs = planJobs(cfg);
  h.setPlan(blocksOf(jobs));
  assert.deepEqual(h.taskCounts('t'), { targets: n, up: n });
  const last = jobs[n - 1];
  h.record(last, result(last, false));
  assert.deepEqual(h.taskCounts('t'), { targets: n, up: n - 1 });
  h.setPlan(blocksOf(jobs));
  assert.deepEqual(h.taskCounts('t'), { targets: n, up: n - 1 }, 'a reload recounts the down ones');
});
