// /metrics for continuous tasks: turns results into counters, histograms and per-target state.
// Per-target series exist only while a task has at most `max_target_series` targets; above that a
// task is reported by its aggregates alone (sonde_task_series_aggregated says so), which keeps a
// million-target task from becoming a million series.
import { droppedLogLines } from '../log';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Task } from '../config/types';
import type { Job } from '../schedule/plan';
import type { ProbeResult } from '../result';

const PHASE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Labelled children of one task's per-probe series. prom-client builds a label object and closure per
 * observe() otherwise; at tens of thousands of probes a second that was a few % of the JS thread.
 */
interface TaskSeries {
  success: { inc(value?: number): void };
  failure: { inc(value?: number): void };
  skipped: { inc(value?: number): void };
  phases: Map<string, { observe(value: number): void }>;
}

interface TargetState {
  up: boolean;
  streak: number; // consecutive results equal to the last one
  lastSuccess: boolean;
  /** trace tasks: the hash of the last path seen */
  pathHash?: number;
}

export class TaskMetrics {
  readonly registry = new Registry();
  private readonly probes: Counter<'task' | 'result'>;
  private readonly skipped: Counter<'task'>;
  private readonly failures: Counter<'task' | 'reason'>;
  private readonly phases: Histogram<'task' | 'phase'>;
  private readonly icmpRtt: Histogram<'task'>;
  private readonly icmpLoss: Counter<'task' | 'kind'>;
  private readonly pathChanges: Counter<'task'>;
  private readonly verdicts: Counter<'task' | 'verdict'>;
  private readonly drops: Counter<'task' | 'reason' | 'direction'>;
  private readonly success: Gauge<'task' | 'target'>;
  private readonly targetUp: Gauge<'task' | 'target'>;
  private readonly lastDuration: Gauge<'task' | 'target'>;
  private readonly certExpiry: Gauge<'task' | 'target'>;
  private readonly taskTargets: Gauge<'task'>;
  private readonly taskTargetsUp: Gauge<'task'>;
  private readonly aggregated: Gauge<'task'>;
  readonly reloadOk: Gauge;
  readonly reloadTime: Gauge;
  readonly inFlight: Gauge;
  private readonly states = new Map<string, TargetState>();
  /** targets currently down, per task: kept as results come, so no result scans a task's targets */
  private readonly down = new Map<string, number>();
  private tasks = new Map<string, Task>();
  private readonly series = new Map<string, TaskSeries>();

  /** inFlight: read at scrape time, so the gauge is never stale */
  constructor(version: string, inFlight: () => number = () => 0) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Counter({
      name: 'sonde_log_lines_dropped_total',
      help: 'Log lines stderr would not take (its reader gone or not reading); logging never holds up probing',
      registers,
      collect() {
        this.reset();
        this.inc(droppedLogLines);
      },
    });
    new Gauge({ name: 'sonde_build_info', help: 'sonde version', labelNames: ['version'], registers }).set({ version }, 1);
    this.probes = new Counter({ name: 'sonde_probes_total', help: 'Probes run, by task and result', labelNames: ['task', 'result'], registers });
    this.skipped = new Counter({
      name: 'sonde_probes_skipped_total',
      help: 'Runs not started because the previous run of the same target was still waiting for a slot or in flight: the task asks for more than --probes.max-in-flight and its timeouts allow',
      labelNames: ['task'],
      registers,
    });
    this.failures = new Counter({ name: 'sonde_probe_failures_total', help: 'Failed probes by task and reason (docs/reasons.md)', labelNames: ['task', 'reason'], registers });
    this.phases = new Histogram({
      name: 'sonde_probe_duration_seconds',
      help: 'Probe duration by phase; phase="total" is the whole probe',
      labelNames: ['task', 'phase'],
      buckets: PHASE_BUCKETS,
      registers,
    });
    this.icmpRtt = new Histogram({ name: 'sonde_icmp_rtt_seconds', help: 'Round-trip time of each ICMP echo reply', labelNames: ['task'], buckets: PHASE_BUCKETS, registers });
    this.icmpLoss = new Counter({ name: 'sonde_icmp_packets_total', help: 'ICMP echo requests sent, replies received and duplicates', labelNames: ['task', 'kind'], registers });
    this.pathChanges = new Counter({
      name: 'sonde_trace_path_changes_total',
      help: 'Trace probes whose path (the addresses answering at each TTL) differed from the previous probe of the same target',
      labelNames: ['task'],
      registers,
    });
    this.verdicts = new Counter({
      name: 'sonde_probe_loss_verdict_total',
      help: 'Lost probes by where they were lost: local_drop, path_loss, unknown (no eBPF, or not decidable)',
      labelNames: ['task', 'verdict'],
      registers,
    });
    this.drops = new Counter({
      name: 'sonde_probe_drops_total',
      help: 'Probe packets dropped by this host\'s kernel, by drop reason and direction',
      labelNames: ['task', 'reason', 'direction'],
      registers,
    });
    this.success = new Gauge({ name: 'sonde_probe_success', help: 'Whether the last probe of the target succeeded', labelNames: ['task', 'target'], registers });
    this.targetUp = new Gauge({
      name: 'sonde_target_up',
      help: 'Target state after the task success/failure thresholds (1 up, 0 down)',
      labelNames: ['task', 'target'],
      registers,
    });
    this.lastDuration = new Gauge({ name: 'sonde_probe_last_duration_seconds', help: 'Duration of the last probe of the target', labelNames: ['task', 'target'], registers });
    this.certExpiry = new Gauge({
      name: 'sonde_ssl_earliest_cert_expiry_timestamp_seconds',
      help: 'Earliest certificate expiry seen by the last probe of the target',
      labelNames: ['task', 'target'],
      registers,
    });
    this.taskTargets = new Gauge({ name: 'sonde_task_targets', help: 'Targets of the task', labelNames: ['task'], registers });
    this.taskTargetsUp = new Gauge({ name: 'sonde_task_targets_up', help: 'Targets of the task that are up (after thresholds)', labelNames: ['task'], registers });
    this.aggregated = new Gauge({
      name: 'sonde_task_series_aggregated',
      help: '1 when the task has more targets than max_target_series and per-target series are omitted',
      labelNames: ['task'],
      registers,
    });
    this.reloadOk = new Gauge({ name: 'sonde_config_last_reload_successful', help: 'Whether the last configuration reload succeeded', registers });
    this.reloadTime = new Gauge({ name: 'sonde_config_last_reload_success_timestamp_seconds', help: 'Time of the last successful configuration reload', registers });
    this.inFlight = new Gauge({
      name: 'sonde_probes_in_flight',
      help: 'Probes running now',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
  }

  private perTarget(task: Task): boolean {
    return task.targets.length <= task.max_target_series;
  }

  /** Called with each new plan: drops series of tasks and targets that are gone. */
  setTasks(tasks: Task[]): void {
    const next = new Map(tasks.map((t) => [t.name, t]));
    for (const [name, old] of this.tasks) {
      const now = next.get(name);
      if (!now) {
        for (const g of [this.taskTargets, this.taskTargetsUp, this.aggregated]) g.remove({ task: name });
      }
      // An aggregated task never had per-target series: nothing to remove, however many targets.
      if (!this.perTarget(old)) continue;
      const keep = new Set(now && this.perTarget(now) ? now.targets : []);
      for (const target of old.targets) {
        if (keep.has(target)) continue;
        for (const g of [this.success, this.targetUp, this.lastDuration, this.certExpiry]) g.remove({ task: name, target });
      }
    }
    // Keep the state of targets still planned (thresholds carry over a reload), recount the down ones.
    const planned = new Set<string>();
    for (const t of tasks) for (const target of t.targets) planned.add(`${t.name}\u0000${target}`);
    this.down.clear();
    for (const [key, st] of this.states) {
      if (!planned.has(key)) this.states.delete(key);
      else if (!st.up) {
        const task = key.slice(0, key.indexOf('\u0000'));
        this.down.set(task, (this.down.get(task) ?? 0) + 1);
      }
    }
    this.tasks = next;
    this.series.clear(); // children of gone tasks go; the others are made again on their next result
    for (const t of tasks) {
      this.taskTargets.set({ task: t.name }, t.targets.length);
      this.aggregated.set({ task: t.name }, this.perTarget(t) ? 0 : 1);
      this.taskTargetsUp.set({ task: t.name }, t.targets.length - (this.down.get(t.name) ?? 0));
    }
  }

  /** Applies the thresholds: a target flips only after N equal results in a row. */
  private updateState(job: Job, success: boolean): boolean {
    const key = job.key;
    const s = this.states.get(key) ?? { up: true, streak: 0, lastSuccess: true };
    s.streak = s.lastSuccess === success ? s.streak + 1 : 1;
    s.lastSuccess = success;
    if (s.up && !success && s.streak >= job.task.failure_threshold) s.up = false;
    if (!s.up && success && s.streak >= job.task.success_threshold) s.up = true;
    this.states.set(key, s);
    return s.up;
  }

  private seriesOf(task: string): TaskSeries {
    let s = this.series.get(task);
    if (s === undefined) {
      s = {
        success: this.probes.labels({ task, result: 'success' }),
        failure: this.probes.labels({ task, result: 'failure' }),
        skipped: this.skipped.labels({ task }),
        phases: new Map(),
      };
      this.series.set(task, s);
    }
    return s;
  }

  private observePhase(s: TaskSeries, task: string, phase: string, seconds: number): void {
    let h = s.phases.get(phase);
    if (h === undefined) {
      h = this.phases.labels({ task, phase });
      s.phases.set(phase, h);
    }
    h.observe(seconds);
  }

  /** A run the scheduler did not start (src/schedule/scheduler.ts onSkip). */
  recordSkip(task: string): void {
    this.seriesOf(task).skipped.inc(); // tens of thousands a second under overload
  }

  record(job: Job, result: ProbeResult): void {
    const task = job.task.name;
    const series = this.seriesOf(task);
    (result.success ? series.success : series.failure).inc();
    if (!result.success) this.failures.inc({ task, reason: result.reason ?? 'internal' });
    this.observePhase(series, task, 'total', result.durationSeconds);
    for (const phase in result.phases) this.observePhase(series, task, phase, result.phases[phase]);
    if (result.icmp) {
      for (const rtt of result.icmp.rtts) this.icmpRtt.observe({ task }, rtt);
      this.icmpLoss.inc({ task, kind: 'sent' }, result.icmp.sent);
      this.icmpLoss.inc({ task, kind: 'received' }, result.icmp.received);
      this.icmpLoss.inc({ task, kind: 'duplicate' }, result.icmp.duplicates);
    }
    for (const a of result.attribution ?? []) {
      this.verdicts.inc({ task, verdict: a.verdict });
      if (a.verdict === 'local_drop') this.drops.inc({ task, reason: a.reason ?? 'unknown', direction: a.direction ?? 'unknown' });
    }
    const wasUp = this.states.get(job.key)?.up ?? true;
    const up = this.updateState(job, result.success);
    if (result.trace) {
      const s = this.states.get(job.key) as TargetState;
      if (s.pathHash !== undefined && s.pathHash !== result.trace.pathHash) this.pathChanges.inc({ task });
      s.pathHash = result.trace.pathHash;
    }
    if (up !== wasUp) {
      const down = (this.down.get(task) ?? 0) + (up ? -1 : 1);
      this.down.set(task, down);
      this.taskTargetsUp.set({ task }, job.task.targets.length - down);
    }
    if (!this.perTarget(job.task)) return;
    const labels = { task, target: job.target };
    this.success.set(labels, result.success ? 1 : 0);
    this.targetUp.set(labels, up ? 1 : 0);
    this.lastDuration.set(labels, result.durationSeconds);
    if (result.tls) this.certExpiry.set(labels, result.tls.earliestExpiry);
  }
}
