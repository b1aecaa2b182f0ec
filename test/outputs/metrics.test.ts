// /metrics from results and the health stage: thresholds, the cardinality guard, cleanup of series on
// reload, and task labels on every per-task and per-target series.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { RESERVED_LABELS } from '../../src/config/schema_tasks';
import type { Config } from '../../src/config/types';
import { HealthStage } from '../../src/health/stage';
import { PHASE_BUCKETS, TaskMetrics } from '../../src/outputs/metrics';
import type { ProbeResult } from '../../src/result';
import { blocksOf, planJobs, type Job } from '../../src/schedule/plan';
import { metric } from '../lab/daemon';
import { config, result, traceResult } from '../health/fixtures';

/** The daemon's wiring: health first, then the metrics output. */
function pipeline(cfg: Config) {
  const health = new HealthStage();
  const m = new TaskMetrics('test', health);
  const apply = (c: Config): Job[] => {
    const jobs = planJobs(c);
    health.setPlan(blocksOf(jobs));
    m.setTasks(blocksOf(jobs));
    return jobs;
  };
  const jobs = apply(cfg);
  const record = (job: Job, r: ProbeResult): void => {
    health.record(job, r);
    m.record(job, r);
  };
  return { m, jobs, apply, record, text: () => m.registry.metrics() };
}

test('per-target series up to max_target_series, aggregates only above it', async () => {
  for (const [targets, maxSeries, perTarget] of [
    [3, 3, true],
    [4, 3, false],
  ] as const) {
    const p = pipeline(config({ targets, maxSeries }));
    for (const job of p.jobs) p.record(job, result(job, job.target.endsWith('1000')));
    const text = await p.text();
    assert.equal(metric(text, 'sonde_task_series_aggregated{task="t"}'), perTarget ? 0 : 1);
    assert.equal(metric(text, 'sonde_probe_success{task="t",target="127.0.0.1:1000"}'), perTarget ? 1 : undefined);
    assert.equal(metric(text, 'sonde_target_up{task="t",target="127.0.0.1:1001"}'), perTarget ? 0 : undefined);
    assert.equal(metric(text, 'sonde_probes_total{task="t",result="success"}'), 1);
    assert.equal(metric(text, 'sonde_probe_failures_total{task="t",reason="refused"}'), targets - 1);
    assert.equal(metric(text, 'sonde_task_targets{task="t"}'), targets);
    assert.equal(metric(text, 'sonde_task_targets_up{task="t"}'), 1);
  }
});

test('sonde_target_up shows the thresholds of the health stage', async () => {
  const p = pipeline(config({ failureThreshold: 3, successThreshold: 2 }));
  const [job] = p.jobs;
  const up = async () => metric(await p.text(), 'sonde_target_up{task="t",target="127.0.0.1:1000"}');
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
    p.record(job, result(job, ok));
    assert.equal(await up(), expected);
  }
  assert.equal(metric(await p.text(), 'sonde_task_targets_up{task="t"}'), 1);
});

test('series of targets removed by a reload disappear', async () => {
  const p = pipeline(config({ targets: 2 }));
  for (const job of p.jobs) p.record(job, result(job, true));
  p.apply(config({ targets: 1 }));
  const text = await p.text();
  assert.equal(metric(text, 'sonde_probe_success{task="t",target="127.0.0.1:1000"}'), 1);
  assert.equal(metric(text, 'sonde_probe_success{task="t",target="127.0.0.1:1001"}'), undefined);
  assert.equal(metric(text, 'sonde_target_up{task="t",target="127.0.0.1:1001"}'), undefined);
  assert.equal(metric(text, 'sonde_task_targets{task="t"}'), 1);
  assert.equal(metric(text, 'sonde_probes_total{task="t",result="success"}'), 2, 'counters of a task still planned carry over');
  p.apply(config({ name: 'other' }));
  const after = await p.text();
  assert.doesNotMatch(after, /task="t"/, 'nothing is left of a task that is gone');
  const [gone] = p.jobs;
  p.record(gone, result(gone, true));
  assert.doesNotMatch(await p.text(), /task="t"/, 'a result in flight across the reload does not bring it back');
});

test('a trace task counts path changes per task, not the first path', async () => {
  const p = pipeline(config());
  const [job] = p.jobs;
  const changes = async () => metric(await p.text(), 'sonde_trace_path_changes_total{task="t"}') ?? 0;
  for (const [hash, expected] of [
    [1, 0],
    [1, 0],
    [2, 1],
    [2, 1],
    [1, 2],
  ] as const) {
    p.record(job, traceResult(job, hash));
    assert.equal(await changes(), expected);
  }
});

test('sonde_task_targets_up follows flips and survives a reload that drops a down target', async () => {
  const p = pipeline(config({ targets: 2 }));
  const up = async () => metric(await p.text(), 'sonde_task_targets_up{task="t"}');
  assert.equal(await up(), 2);
  for (const job of p.jobs) p.record(job, result(job, false));
  assert.equal(await up(), 0);
  const [job] = p.apply(config({ targets: 1 }));
  assert.equal(await up(), 0, 'the remaining target keeps its down state across the reload');
  p.record(job, result(job, true));
  assert.equal(await up(), 1);
});

/** Series of the process, not of a task: no task label. */
const PROCESS_SERIES = ['sonde_build_info', 'sonde_log_lines_dropped_total', 'sonde_config_last_reload_successful', 'sonde_config_last_reload_success_timestamp_seconds', 'sonde_probes_in_flight'];

/** Every sonde_ series line: name and labels in order. */
function series(text: string): Array<{ name: string; labels: Array<[string, string]>; line: string }> {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^(sonde_[a-z_]+)(?:\{(.*)\})? \S+$/.exec(line);
    if (!m) continue;
    const labels: Array<[string, string]> = [];
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels.push([l[1], l[2]]);
    out.push({ name: m[1], labels, line });
  }
  return out;
}

/** Results that touch every per-task and per-target series: icmp facts, loss attribution, TLS, a trace path change, a skip. */
function everything(p: ReturnType<typeof pipeline>): void {
  for (const job of p.jobs) {
    p.record(job, result(job, true, { tls: { earliestExpiry: 2_000_000_000 } as ProbeResult['tls'] }));
    p.record(
      job,
      result(job, false, {
        icmp: { sent: 3, received: 2, duplicates: 1, loss: 1 / 3, rtts: [0.001, 0.002] },
        attribution: [{ verdict: 'local_drop', reason: 'NETFILTER_DROP', direction: 'egress' }, { verdict: 'path_loss' }],
      }),
    );
    p.record(job, traceResult(job, 1));
    p.record(job, traceResult(job, 2));
    p.m.recordSkip(job.task.name);
    p.m.recordSkip(job.task.name, 2, 'stall');
  }
}

const PER_TASK = [
  'sonde_probes_total',
  'sonde_probes_skipped_total',
  'sonde_probe_failures_total',
  'sonde_probe_duration_seconds_bucket',
  'sonde_probe_duration_seconds_sum',
  'sonde_probe_duration_seconds_count',
  'sonde_icmp_rtt_seconds_bucket',
  'sonde_icmp_rtt_seconds_sum',
  'sonde_icmp_rtt_seconds_count',
  'sonde_icmp_packets_total',
  'sonde_trace_path_changes_total',
  'sonde_probe_loss_verdict_total',
  'sonde_probe_drops_total',
  'sonde_task_targets',
  'sonde_task_targets_up',
  'sonde_task_series_aggregated',
];
const PER_TARGET = ['sonde_probe_success', 'sonde_target_up', 'sonde_probe_last_duration_seconds', 'sonde_ssl_earliest_cert_expiry_timestamp_seconds'];

test('task labels are on every per-task and per-target series, after task', async () => {
  // Two tasks with different label keys share every family; a third has no labels.
  const p = pipeline(config({ name: 'web', targets: 2, labels: '{team: web, tier: front}' }, { name: 'db', labels: '{owner: dba}' }, { name: 'plain' }));
  everything(p);
  const want: Record<string, Array<[string, string]>> = { web: [['team', 'web'], ['tier', 'front']], db: [['owner', 'dba']], plain: [] };
  const seen = new Map<string, Set<string>>();
  for (const s of series(await p.text())) {
    if (PROCESS_SERIES.includes(s.name)) continue;
    assert.equal(s.labels[0]?.[0] === 'le' ? s.labels[1]?.[0] : s.labels[0]?.[0], 'task', `task label first (after le): ${s.line}`);
    const from = s.labels.findIndex(([k]) => k === 'task');
    const task = s.labels[from][1];
    const expected = want[task];
    assert.deepEqual(s.labels.slice(from + 1, from + 1 + expected.length), expected, `labels of task ${task}: ${s.line}`);
    const rest = s.labels.slice(from + 1 + expected.length).map(([k]) => k);
    assert.ok(!rest.some((k) => expected.some(([e]) => e === k)), `no label twice: ${s.line}`);
    if (!seen.has(s.name)) seen.set(s.name, new Set());
    seen.get(s.name)?.add(task);
  }
  for (const name of [...PER_TASK, ...PER_TARGET]) assert.deepEqual([...(seen.get(name) ?? [])].sort(), ['db', 'plain', 'web'], `${name} rendered for every task`);
});

test('a task without labels gets none added', async () => {
  const p = pipeline(config({ name: 'plain' }));
  everything(p);
  const text = await p.text();
  assert.equal(metric(text, 'sonde_probes_total{task="plain",result="success"}'), 3);
  assert.equal(metric(text, 'sonde_icmp_packets_total{task="plain",kind="sent"}'), 3);
  assert.equal(metric(text, 'sonde_probe_drops_total{task="plain",reason="NETFILTER_DROP",direction="egress"}'), 1);
  assert.equal(metric(text, 'sonde_probe_duration_seconds_bucket{le="0.001",task="plain",phase="connect"}'), 4);
  assert.equal(metric(text, 'sonde_target_up{task="plain",target="127.0.0.1:1000"}'), 1);
  assert.equal(metric(text, 'sonde_probe_skipped_total{task="plain"}'), undefined);
  assert.equal(metric(text, 'sonde_probes_skipped_total{task="plain",reason="busy"}'), 1);
  assert.equal(metric(text, 'sonde_probes_skipped_total{task="plain",reason="stall"}'), 2);
});

test('label values are escaped as the text format wants', async () => {
  // YAML double quotes: the value is  a "b" \ c<newline>d
  const p = pipeline(config({ name: 'web', labels: '{note: "a \\"b\\" \\\\ c\\nd"}' }));
  assert.equal(p.jobs[0].task.labels.note, 'a "b" \\ c\nd');
  everything(p);
  const text = await p.text();
  assert.equal(metric(text, 'sonde_probes_total{task="web",note="a \\"b\\" \\\\ c\\nd",result="success"}'), 3);
  assert.equal(metric(text, 'sonde_target_up{task="web",note="a \\"b\\" \\\\ c\\nd",target="127.0.0.1:1000"}'), 1);
  for (const line of text.split('\n')) assert.ok(!line.startsWith('d"'), 'no line broken by the newline');
});

test('a reload that changes a task\'s labels starts its series anew under the new labels', async () => {
  const p = pipeline(config({ labels: '{team: a}' }));
  const [job] = p.jobs;
  p.record(job, result(job, true));
  p.apply(config({ labels: '{team: a}' }));
  p.record(job, result(job, true));
  assert.equal(metric(await p.text(), 'sonde_probes_total{task="t",team="a",result="success"}'), 2, 'same labels: the counter carries over');
  p.apply(config({ labels: '{team: b}' }));
  let text = await p.text();
  assert.doesNotMatch(text, /team="a"/);
  assert.equal(metric(text, 'sonde_probe_success{task="t",team="b",target="127.0.0.1:1000"}'), 1, 'the last result of the target stays, relabelled');
  assert.equal(metric(text, 'sonde_task_targets{task="t",team="b"}'), 1);
  p.record(job, result(job, false));
  text = await p.text();
  assert.equal(metric(text, 'sonde_probes_total{task="t",team="b",result="failure"}'), 1);
  assert.equal(metric(text, 'sonde_probes_total{task="t",team="b",result="success"}'), undefined);
});

test('the label names sonde puts on task series are refused as task labels', () => {
  const m = new TaskMetrics('test', new HealthStage());
  for (const name of [...m.labelNames(), 'task', 'target']) assert.ok((RESERVED_LABELS as readonly string[]).includes(name), `${name} is reserved`);
});

test('names, HELP and bucket layout are those prom-client rendered before', async () => {
  const p = pipeline(config());
  const [job] = p.jobs;
  const refRegistry = new Registry();
  const ref = new Histogram({
    name: 'sonde_probe_duration_seconds',
    help: 'Probe duration by phase; phase="total" is the whole probe',
    labelNames: ['task', 'phase'],
    buckets: PHASE_BUCKETS,
    registers: [refRegistry],
  });
  for (const seconds of [0.00005, 0.0001, 0.003, 0.2, 7, 11]) {
    p.record(job, result(job, true, { durationSeconds: seconds, phases: {} }));
    ref.observe({ task: 't', phase: 'total' }, seconds);
  }
  const ours = await p.m.registry.getSingleMetricAsString('sonde_probe_duration_seconds');
  assert.equal(ours + '\n', await refRegistry.metrics());
  const json = await p.m.registry.getMetricsAsJSON();
  const probes = json.find((x) => x.name === 'sonde_probes_total');
  assert.deepEqual(probes?.values, [{ value: 6, metricName: undefined, labels: { task: 't', result: 'success' } }]);
  assert.equal(probes?.help, 'Probes run, by task and result');
});

test('Registry.resetMetrics zeroes our families and counting goes on', async () => {
  const p = pipeline(config());
  const [job] = p.jobs;
  p.record(job, result(job, true));
  p.m.registry.resetMetrics();
  let text = await p.text();
  assert.equal(metric(text, 'sonde_probes_total{task="t",result="success"}'), 0);
  assert.equal(metric(text, 'sonde_probe_duration_seconds_count{task="t",phase="total"}'), 0);
  p.record(job, result(job, true));
  text = await p.text();
  assert.equal(metric(text, 'sonde_probes_total{task="t",result="success"}'), 1);
  assert.equal(metric(text, 'sonde_probe_duration_seconds_bucket{le="+Inf",task="t",phase="total"}'), 1);
});
