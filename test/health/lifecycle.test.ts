// Task lifecycle on results fed by hand: Pending → Running / Failed, Failed → Running, Paused,
// reloads that keep or restart the state, and the series /metrics shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { TaskLifecycle } from '../../src/health/lifecycle';
import { HealthStage } from '../../src/health/stage';
import { registerLifecycleMetrics } from '../../src/outputs/lifecycle_metrics';
import { blocksOf, planJobs, type Job } from '../../src/schedule/plan';
import { config, result, type TaskOptions } from './fixtures';

function setup(...tasks: TaskOptions[]) {
  const health = new HealthStage();
  let now = 1000;
  const life = new TaskLifecycle(health, () => now);
  const changes: string[] = [];
  life.subscribe((task, from, to, reason) => changes.push(`${task.name}: ${from ?? '-'} -> ${to} (${reason})`));
  const plan = (c = config(...tasks)) => {
    const jobs = planJobs(c);
    health.setPlan(blocksOf(jobs));
    life.setTasks(c.tasks);
    return jobs;
  };
  const jobs = plan();
  const feed = (job: Job, success: boolean) => {
    const r = result(job, success);
    health.record(job, r);
    life.record(job, r);
    return r;
  };
  return { health, life, jobs, plan, feed, changes, setNow: (n: number) => (now = n) };
}

test('one target: Pending until the success threshold, Failed at the failure threshold, Running again', () => {
  const { life, jobs, feed } = setup({ successThreshold: 2, failureThreshold: 2 });
  const [j] = jobs;
  assert.deepEqual(life.status('t'), { state: 'pending', since: 1000, reason: 'planned, no target has met a threshold yet', targets: 1, up: 1, down: 0 });
  feed(j, true);
  assert.equal(life.status('t')!.state, 'pending', 'one success of two');
  const r = feed(j, true);
  assert.deepEqual(life.status('t'), {
    state: 'running', since: r.startedAt + r.durationSeconds * 1000, reason: '127.0.0.1:1000 met the success threshold (2 in a row); 1 of 1 targets up', targets: 1, up: 1, down: 0,
  });
  feed(j, false);
  assert.equal(life.status('t')!.state, 'running');
  const f = feed(j, false);
  assert.deepEqual(life.status('t'), {
    state: 'failed', since: f.startedAt + f.durationSeconds * 1000, reason: 'every target down (0 of 1 up); last 127.0.0.1:1000: refused', targets: 1, up: 0, down: 1,
  });
  feed(j, true);
  assert.equal(life.status('t')!.state, 'failed', 'down until two successes');
  feed(j, true);
  assert.equal(life.status('t')!.reason, '127.0.0.1:1000 up again (1 of 1 targets up)');
});

test('three targets: Failed only when every one is down; one up keeps it Running with the counts', () => {
  const { life, jobs, feed } = setup({ targets: 3 });
  feed(jobs[0], false);
  feed(jobs[1], false);
  assert.deepEqual([life.status('t')!.state, life.status('t')!.up], ['pending', 1], 'an unprobed target counts as up');
  feed(jobs[2], true);
  assert.deepEqual([life.status('t')!.state, life.status('t')!.up, life.status('t')!.down], ['running', 1, 2]);
  feed(jobs[2], false);
  assert.equal(life.status('t')!.state, 'failed');
  assert.equal(life.status('t')!.reason, 'every target down (0 of 3 up); last 127.0.0.1:1002: refused');
});

test('a reload keeps the state of an unchanged task and restarts a changed one; paused and resumed', () => {
  const { life, jobs, feed, plan, changes, setNow } = setup({ name: 'a' }, { name: 'b' });
  feed(jobs[0], true);
  feed(jobs[1], false);
  setNow(5000);
  plan(config({ name: 'a' }, { name: 'b', failureThreshold: 3 }));
  assert.deepEqual([life.status('a')!.state, life.status('b')!.state, life.status('b')!.since, life.status('b')!.reason], ['running', 'pending', 5000, 'changed']);
  const again = plan(config({ name: 'a' }, { name: 'b', failureThreshold: 3 }));
  feed(again[1], false);
  assert.equal(life.status('b')!.state, 'failed', 'its target stayed down across the change: the next failure decides');
  const paused = config({ name: 'a' });
  paused.tasks[0].paused = true;
  plan(paused);
  assert.equal(life.status('a')!.state, 'paused');
  assert.equal(life.status('b'), undefined, 'removed');
  plan(config({ name: 'a' }));
  assert.deepEqual([life.status('a')!.state, life.status('a')!.reason], ['pending', 'resumed']);
  assert.deepEqual(changes, [
    'a: - -> pending (planned, no target has met a threshold yet)',
    'b: - -> pending (planned, no target has met a threshold yet)',
    'a: pending -> running (127.0.0.1:1000 met the success threshold (1 in a row); 1 of 1 targets up)',
    'b: pending -> failed (every target down (0 of 1 up); last 127.0.0.1:1000: refused)',
    'b: failed -> pending (changed)',
    'b: pending -> failed (every target down (0 of 1 up); last 127.0.0.1:1000: refused)',
    'a: running -> paused (paused: true)',
    'a: paused -> pending (resumed)',
  ]);
});

test('changeTasks replaces and removes only the tasks named', () => {
  const { life, jobs, feed, health } = setup({ name: 'a' }, { name: 'b' });
  feed(jobs[0], true);
  const c = config({ name: 'a' }, { name: 'b', successThreshold: 2 });
  health.setPlan(blocksOf(planJobs(c)));
  life.changeTasks([c.tasks[1]], ['a']);
  assert.equal(life.status('a'), undefined);
  assert.equal(life.status('b')!.reason, 'changed');
});

test('/metrics: one series per state, 1 for the current one, and the change time', async () => {
  const { life, feed, jobs } = setup({ name: 'web', labels: '{team: x}' });
  const reg = new Registry();
  registerLifecycleMetrics(reg, life);
  const r = feed(jobs[0], true);
  const text = await reg.metrics();
  const lines = text.split('\n').filter((l) => l.startsWith('sonde_task_state'));
  assert.deepEqual(lines, [
    'sonde_task_state{task="web",team="x",state="pending"} 0',
    'sonde_task_state{task="web",team="x",state="running"} 1',
    'sonde_task_state{task="web",team="x",state="failed"} 0',
    'sonde_task_state{task="web",team="x",state="paused"} 0',
    `sonde_task_state_change_timestamp_seconds{task="web",team="x"} ${(r.startedAt + r.durationSeconds * 1000) / 1000}`,
  ]);
});
