// /metrics from results: thresholds, the cardinality guard, and cleanup of series on reload.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import { TaskMetrics } from '../../src/outputs/metrics';
import { planJobs, type Job } from '../../src/schedule/plan';
import type { ProbeResult } from '../../src/result';
import { metric } from '../lab/daemon';

function config(targets: number, maxSeries: number, thresholds = '') {
  const list = Array.from({ length: targets }, (_, i) => `"127.0.0.1:${1000 + i}"`).join(', ');
  return loadConfigString(
    `modules:\n  tcp_connect:\n    prober: tcp\ntasks:\n  - name: t\n    module: tcp_connect\n    interval: 10s\n    max_target_series: ${maxSeries}\n${thresholds}    targets: [${list}]\n`,
    'test.yml',
  );
}

function result(job: Job, success: boolean): ProbeResult {
  return {
    target: job.target,
    module: job.module.name,
    prober: 'tcp',
    success,
    reason: success ? undefined : 'refused',
    startedAt: Date.now(),
    durationSeconds: 0.002,
    phases: { resolve: 0, connect: 0.001 },
  };
}

test('per-target series up to max_target_series, aggregates only above it', async () => {
  for (const [targets, maxSeries, perTarget] of [
    [3, 3, true],
    [4, 3, false],
  ] as const) {
    const m = new TaskMetrics('test');
    const cfg = config(targets, maxSeries);
    m.setTasks(cfg.tasks);
    for (const job of planJobs(cfg)) m.record(job, result(job, job.target.endsWith('1000')));
    const text = await m.registry.metrics();
    assert.equal(metric(text, 'sonde_task_series_aggregated{task="t"}'), perTarget ? 0 : 1);
    assert.equal(metric(text, 'sonde_probe_success{task="t",target="127.0.0.1:1000"}'), perTarget ? 1 : undefined);
    assert.equal(metric(text, 'sonde_probes_total{task="t",result="success"}'), 1);
    assert.equal(metric(text, 'sonde_probe_failures_total{task="t",reason="refused"}'), targets - 1);
    assert.equal(metric(text, 'sonde_task_targets{task="t"}'), targets);
  }
});

test('a target goes down only after failure_threshold failures and up after success_threshold', async () => {
  const m = new TaskMetrics('test');
  const cfg = config(1, 10, '    failure_threshold: 3\n    success_threshold: 2\n');
  m.setTasks(cfg.tasks);
  const [job] = planJobs(cfg);
  const up = async () => metric(await m.registry.metrics(), 'sonde_target_up{task="t",target="127.0.0.1:1000"}');
  const steps: Array<[boolean, number]> = [
    [false, 1],
    [false, 1],
    [false, 0], // third failure in a row
    [true, 0],
    [false, 0], // streak broken
    [true, 0],
    [true, 1], // second success in a row
  ];
  for (const [ok, expected] of steps) {
    m.record(job, result(job, ok));
    assert.equal(await up(), expected);
  }
  assert.equal(metric(await m.registry.metrics(), 'sonde_task_targets_up{task="t"}'), 1);
});

test('series of targets removed by a reload disappear', async () => {
  const m = new TaskMetrics('test');
  const cfg = config(2, 10);
  m.setTasks(cfg.tasks);
  for (const job of planJobs(cfg)) m.record(job, result(job, true));
  m.setTasks(config(1, 10).tasks);
  const text = await m.registry.metrics();
  assert.equal(metric(text, 'sonde_probe_success{task="t",target="127.0.0.1:1000"}'), 1);
  assert.equal(metric(text, 'sonde_probe_success{task="t",target="127.0.0.1:1001"}'), undefined);
  assert.equal(metric(text, 'sonde_task_targets{task="t"}'), 1);
});

test('a trace task counts path changes per task, not the first path', async () => {
  const m = new TaskMetrics('test');
  const cfg = config(1, 10);
  m.setTasks(cfg.tasks);
  const [job] = planJobs(cfg);
  const changes = async () => metric(await m.registry.metrics(), 'sonde_trace_path_changes_total{task="t"}') ?? 0;
  for (const [hash, expected] of [
    [1, 0],
    [1, 0],
    [2, 1],
    [2, 1],
    [1, 2],
  ] as const) {
    m.record(job, { ...result(job, true), trace: { proto: 'icmp', reached: true, hops: [], pathHash: hash } as unknown as NonNullable<ProbeResult['trace']> });
    assert.equal(await changes(), expected);
  }
});

test('sonde_task_targets_up follows flips and survives a reload that drops a down target', async () => {
  const m = new TaskMetrics('test');
  const two = config(2, 10);
  m.setTasks(two.tasks);
  const jobs = planJobs(two);
  const up = async () => metric(await m.registry.metrics(), 'sonde_task_targets_up{task="t"}');
  assert.equal(await up(), 2);
  for (const job of jobs) m.record(job, result(job, false));
  assert.equal(await up(), 0);
  const one = config(1, 10);
  m.setTasks(one.tasks);
  assert.equal(await up(), 0, 'the remaining target keeps its down state across the reload');
  const [job] = planJobs(one);
  m.record(job, result(job, true));
  assert.equal(await up(), 1);
});
