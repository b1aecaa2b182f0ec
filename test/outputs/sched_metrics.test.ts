// The scheduler's series on /metrics: shed runs by task, qos and reason; breaker states and
// transitions; runs throttled per tenant. And /results of a task above max_target_series: a
// summary per target from typed arrays (no whole result kept).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Breakers } from '../../src/health/breaker';
import { HealthStage } from '../../src/health/stage';
import { LatestResults } from '../../src/outputs/latest';
import { TaskMetrics } from '../../src/outputs/metrics';
import { registerSchedulerMetrics } from '../../src/outputs/sched_metrics';
import { metric } from '../lab/daemon';
import { result } from '../health/fixtures';
import { taskJobs } from '../schedule/sched_harness';

test('shed runs, breaker states and transitions, tenants throttled', async () => {
  const health = new HealthStage();
  const m = new TaskMetrics('test', health);
  const breakers = new Breakers(health, { onTransition: (b, _r, from, to) => m.recordBreaker(b.task, from, to) });
  registerSchedulerMetrics(m.registry, () => ({ tenantStates: () => [{ name: 'acme', throttled: 7 }] }), breakers);
  const jobs = taskJobs('t', 3, { qos: 'best_effort', labels: { team: 'x' }, breaker: { failures: 1, cooldown: 60 } });
  const blocks = [jobs[0].block];
  health.applyTasks(blocks);
  breakers.applyTasks(blocks);
  m.applyTasks(blocks);
  m.recordShed(jobs[0].task, 'queue');
  m.recordShed(jobs[0].task, 'queue');
  m.recordShed(jobs[0].task, 'lag');
  health.record(jobs[1], result(jobs[1], false)); // one failure opens its breaker
  const text = await m.registry.metrics();
  assert.equal(metric(text, 'sonde_probes_shed_total{task="t",team="x",qos="best_effort",reason="queue"}'), 2);
  assert.equal(metric(text, 'sonde_probes_shed_total{task="t",team="x",qos="best_effort",reason="lag"}'), 1);
  assert.equal(metric(text, 'sonde_breaker_state{task="t",team="x",state="closed"}'), 2);
  assert.equal(metric(text, 'sonde_breaker_state{task="t",team="x",state="open"}'), 1);
  assert.equal(metric(text, 'sonde_breaker_transitions_total{task="t",team="x",from="closed",to="open"}'), 1);
  assert.equal(metric(text, 'sonde_tenant_throttled_total{tenant="acme"}'), 7);
  // The task goes: its series go.
  health.applyTasks([], ['t']);
  breakers.applyTasks([], ['t']);
  m.applyTasks([], ['t']);
  const after = await m.registry.metrics();
  assert.equal(metric(after, 'sonde_probes_shed_total{task="t",team="x",qos="best_effort",reason="queue"}'), undefined);
  assert.equal(metric(after, 'sonde_breaker_state{task="t",team="x",state="open"}'), undefined);
});

test('/results of a task above max_target_series: a summary per target, with its health', () => {
  const health = new HealthStage();
  const latest = new LatestResults(health);
  const jobs = taskJobs('big', 20, { max_target_series: 5 });
  health.applyTasks([jobs[0].block]);
  latest.applyTasks([jobs[0].block]);
  const fail = result(jobs[3], false);
  health.record(jobs[3], fail);
  latest.record(jobs[3], fail);
  const [e] = latest.list('big');
  assert.equal(e.result, undefined, 'no whole result kept');
  assert.deepEqual(latest.toJSON(e), {
    task: 'big',
    labels: {},
    target: jobs[3].target,
    module: 'm',
    prober: 'tcp',
    success: false,
    reason: 'refused',
    started_at: new Date(fail.startedAt).toISOString(),
    duration_seconds: 0.002,
    summarized: true,
    health: { up: false, streak: 1, last_change: new Date(fail.startedAt + 2).toISOString() },
  });
});

test("a target's own labels (file_sd groups) are on its per-target series, between the task's and target", async () => {
  const health = new HealthStage();
  const m = new TaskMetrics('test', health);
  const group = Object.freeze({ dc: 'east' });
  const jobs = taskJobs('t', 2, { labels: { team: 'x' }, target_labels: [group, undefined] });
  health.applyTasks([jobs[0].block]);
  m.applyTasks([jobs[0].block]);
  for (const j of jobs) {
    const r = result(j, true);
    health.record(j, r);
    m.record(j, r);
  }
  const text = await m.registry.metrics();
  assert.equal(metric(text, `sonde_probe_success{task="t",team="x",dc="east",target="${jobs[0].target}"}`), 1);
  assert.equal(metric(text, `sonde_probe_success{task="t",team="x",target="${jobs[1].target}"}`), 1);
});
