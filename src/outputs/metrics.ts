// /metrics for continuous tasks: renders results and the health stage's state as counters,
// histograms and per-target gauges. Every per-task and per-target series carries the task label and
// then the task's own `labels:` (src/outputs/families.ts). Per-target series exist only while a task
// has at most `max_target_series` targets; above that a task is reported by its aggregates alone
// (sonde_task_series_aggregated says so), which keeps a million-target task from becoming a million
// series. Up/down, thresholds and path changes are the health stage's (src/health/stage.ts).
import { Counter, Gauge, Registry, collectDefaultMetrics } from './prom_client';
import type { Task } from '../config/types';
import type { HealthStage, RowRef, Transition } from '../health/stage';
import { droppedLogLines } from '../log';
import type { ProberDescriptor, TaskMetricSpec, TaskStateSpec } from '../probers/descriptor';
import { TaskStateSeries } from './task_states';
import { PROBERS, RUNNABLE_PROBERS } from '../probers';
import type { ProbeResult } from '../result';
import type { Job, TaskBlock } from '../schedule/plan';
import type { ShedReason, SkipCause } from '../schedule/scheduler';
import { CounterFamily, GaugeView, HistogramFamily, taskScope, type CounterChild, type Group, type HistogramChild, type Labels, type TaskScope } from './families';

export const PHASE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// The series each prober adds (its descriptor's taskMetrics). Every result is shown to every spec:
// a spec adds only what its own facts (result.icmp...) say.
const PROBER_TASK_METRICS: readonly TaskMetricSpec[] = RUNNABLE_PROBERS.flatMap((name) => PROBERS[name].taskMetrics);
const PROBER_TASK_STATES: readonly TaskStateSpec[] = RUNNABLE_PROBERS.flatMap((name) => (PROBERS[name] as ProberDescriptor).taskStates ?? []);

/** The last result of one target, for the per-target gauges (only tasks within max_target_series). */
interface TargetRecord {
  /** task, task labels, target: kept, so its text is formatted once */
  labels: Labels;
  /** where the health stage keeps the target (re-pointed when its task is replanned) */
  ref: RowRef;
  success: boolean;
  duration: number;
  certExpiry?: number;
}

type Add = (value: number, ...labelValues: string[]) => void;

/** One task's groups in every family, and the children every result touches (found once). */
interface TaskSeries {
  task: Task;
  scope: TaskScope;
  /** the task's labels in a comparable form: a reload that changes them starts new series */
  labelsKey: string;
  probes: Group<CounterChild>;
  success?: CounterChild;
  failure?: CounterChild;
  skipped: Group<CounterChild>;
  skip?: CounterChild;
  failures: Group<CounterChild>;
  phases: Group<HistogramChild>;
  total?: HistogramChild;
  verdicts: Group<CounterChild>;
  drops: Group<CounterChild>;
  pathChanges: Group<CounterChild>;
  shed: Group<CounterChild>;
  breakerMoves: Group<CounterChild>;
  /** one per PROBER_TASK_METRICS entry */
  specs: Add[];
  /** per-target tasks only, by target */
  targets?: Map<string, TargetRecord>;
}

function labelsKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function perTarget(task: Task): boolean {
  return task.targets.length <= task.max_target_series;
}

export class TaskMetrics {
  readonly registry = new Registry();
  private readonly probes: CounterFamily;
  private readonly skipped: CounterFamily;
  private readonly failures: CounterFamily;
  private readonly phases: HistogramFamily;
  private readonly specFamilies: Array<CounterFamily | HistogramFamily>;
  private readonly pathChanges: CounterFamily;
  private readonly verdicts: CounterFamily;
  private readonly drops: CounterFamily;
  private readonly shed: CounterFamily;
  private readonly breakerMoves: CounterFamily;
  private readonly families: Array<CounterFamily | HistogramFamily>;
  private readonly states: TaskStateSeries[];
  readonly reloadOk: { set(v: number): void };
  readonly reloadTime: { set(v: number): void };
  readonly inFlight: Gauge;
  private series = new Map<string, TaskSeries>();

  /** health: the stage whose state and transitions these series show; inFlight: read at scrape time */
  constructor(
    version: string,
    private readonly health: HealthStage,
    inFlight: () => number = () => 0,
  ) {
    const reg = this.registry;
    const registers = [reg];
    collectDefaultMetrics({ register: reg });
    new Counter({
      name: 'sonde_log_lines_dropped_total',
      help: 'Log lines stderr would not take (its reader gone or not reading); logging never holds up probing',
      registers,
      collect() {
        this.reset();
        this.inc(droppedLogLines);
      },
    });
    // blackbox_exporter_build_info's labels (prometheus/common version collector) on both names.
    // tags: prometheus/common's version.GetTags(), "unknown" for a build without Go build tags.
    const build = { version, revision: '', branch: '', goversion: process.version, goos: process.platform, goarch: process.arch, tags: 'unknown' };
    for (const name of ['sonde_build_info', 'blackbox_exporter_build_info']) {
      new Gauge({ name, help: `A metric with a constant '1' value labeled by version, revision, branch, goversion from which ${name.split('_')[0]} was built, and the goos and goarch for the build.`, labelNames: Object.keys(build), registers }).set(build, 1);
    }
    this.probes = new CounterFamily(reg, 'sonde_probes_total', 'Probes run, by task and result', ['result']);
    this.skipped = new CounterFamily(
      reg,
      'sonde_probes_skipped_total',
      'Runs not started, by reason: busy, the previous run of the same target was still waiting for a slot or in flight (the task asks for more than --probes.max-in-flight and its timeouts allow); stall, their time passed while the event loop was blocked or the host suspended; held, the target\'s circuit breaker was open; reload, the run was waiting for a slot when its task changed or was removed',
      ['reason'],
    );
    this.failures = new CounterFamily(reg, 'sonde_probe_failures_total', 'Failed probes by task and reason (docs/reasons.md)', ['reason']);
    this.phases = new HistogramFamily(reg, 'sonde_probe_duration_seconds', 'Probe duration by phase; phase="total" is the whole probe', ['phase'], PHASE_BUCKETS);
    this.specFamilies = PROBER_TASK_METRICS.map((s) =>
      s.type === 'counter' ? new CounterFamily(reg, s.name, s.help, s.labelNames) : new HistogramFamily(reg, s.name, s.help, s.labelNames, s.buckets ?? PHASE_BUCKETS),
    );
    this.pathChanges = new CounterFamily(
      reg,
      'sonde_trace_path_changes_total',
      'Trace probes whose path (the addresses answering at each TTL) differed from the previous probe of the same target',
    );
    this.verdicts = new CounterFamily(reg, 'sonde_probe_loss_verdict_total', 'Lost probes by where they were lost: local_drop, path_loss, unknown (no eBPF, or not decidable)', [
      'verdict',
    ]);
    this.drops = new CounterFamily(reg, 'sonde_probe_drops_total', "Probe packets dropped by this host's kernel, by drop reason and direction", ['reason', 'direction']);
    this.shed = new CounterFamily(
      reg,
      'sonde_probes_shed_total',
      "Runs shed under overload, by the task's QoS class and the bound passed: queue (runs waiting past scheduler.shed_queue), lag (event-loop lag past scheduler.shed_lag): never started; engine (a native engine's queue for the class past scheduler.engine_queue_bound): started, no result",
      ['qos', 'reason'],
    );
    this.breakerMoves = new CounterFamily(reg, 'sonde_breaker_transitions_total', "Circuit breaker state changes of the task's targets", ['from', 'to']);
    this.states = PROBER_TASK_STATES.map((spec) => new TaskStateSeries(reg, spec));
    this.families = [
      this.probes,
      this.skipped,
      this.failures,
      this.phases,
      ...this.specFamilies,
      this.pathChanges,
      this.verdicts,
      this.drops,
      this.shed,
      this.breakerMoves,
      ...this.states.map((s) => s.transitions),
    ];
    this.registerTargetGauges(reg);
    this.registerTaskGauges(reg);
    // Each also under blackbox_exporter's name, so that alerts written for it keep firing.
    const both = (name: string, help: string): { set(v: number): void } => {
      const gauges = [`sonde_${name}`, `blackbox_exporter_${name}`].map((n) => new Gauge({ name: n, help, registers }));
      return { set: (v: number) => gauges.forEach((g) => g.set(v)) };
    };
    this.reloadOk = both('config_last_reload_successful', 'Whether the last configuration reload succeeded');
    this.reloadTime = both('config_last_reload_success_timestamp_seconds', 'Time of the last successful configuration reload');
    this.inFlight = new Gauge({
      name: 'sonde_probes_in_flight',
      help: 'Probes running now',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    health.subscribe((t) => this.onTransition(t));
  }

  /** Label names the per-task series put after the task's labels (config refuses them as task labels). */
  labelNames(): string[] {
    return [...new Set([...this.families.flatMap((f) => [...f.labelNames, ...(f instanceof HistogramFamily ? ['le'] : [])]), ...this.states.flatMap((s) => s.labelNames())])];
  }

  private registerTargetGauges(reg: Registry): void {
    const each = (emit: (labels: Labels, value: number) => void, value: (r: TargetRecord) => number | undefined) => {
      for (const s of this.series.values()) {
        if (s.targets === undefined) continue;
        for (const r of s.targets.values()) {
          const v = value(r);
          if (v !== undefined) emit(r.labels, v);
        }
      }
    };
    new GaugeView(reg, 'sonde_probe_success', 'Whether the last probe of the target succeeded', (emit) => each(emit, (r) => (r.success ? 1 : 0)));
    new GaugeView(reg, 'sonde_target_up', 'Target state after the task success/failure thresholds (1 up, 0 down)', (emit) =>
      each(emit, (r) => {
        const up = this.health.isUp(r.ref);
        return up === undefined ? undefined : up ? 1 : 0;
      }),
    );
    new GaugeView(reg, 'sonde_probe_last_duration_seconds', 'Duration of the last probe of the target', (emit) => each(emit, (r) => r.duration));
    new GaugeView(reg, 'sonde_ssl_earliest_cert_expiry_timestamp_seconds', 'Earliest certificate expiry seen by the last probe of the target', (emit) =>
      each(emit, (r) => r.certExpiry),
    );
  }

  private registerTaskGauges(reg: Registry): void {
    const each = (emit: (labels: Labels, value: number) => void, value: (s: TaskSeries) => number) => {
      for (const s of this.series.values()) emit(s.scope.labels, value(s));
    };
    new GaugeView(reg, 'sonde_task_targets', 'Targets of the task', (emit) => each(emit, (s) => s.task.targets.length));
    new GaugeView(reg, 'sonde_task_targets_up', 'Targets of the task that are up (after thresholds)', (emit) =>
      each(emit, (s) => this.health.taskCounts(s.task.name)?.up ?? s.task.targets.length),
    );
    new GaugeView(reg, 'sonde_task_series_aggregated', '1 when the task has more targets than max_target_series and per-target series are omitted', (emit) =>
      each(emit, (s) => (s.targets === undefined ? 1 : 0)),
    );
  }

  private newSeries(task: Task, key: string): TaskSeries {
    const scope = taskScope(task.name, task.labels);
    return {
      task,
      scope,
      labelsKey: key,
      probes: this.probes.group(scope),
      skipped: this.skipped.group(scope),
      failures: this.failures.group(scope),
      phases: this.phases.group(scope),
      verdicts: this.verdicts.group(scope),
      drops: this.drops.group(scope),
      pathChanges: this.pathChanges.group(scope),
      shed: this.shed.group(scope),
      breakerMoves: this.breakerMoves.group(scope),
      specs: this.specFamilies.map((f): Add => {
        const g = f.group(scope);
        return f instanceof CounterFamily ? (v, ...lv) => (g as Group<CounterChild>).child(...lv).inc(v) : (v, ...lv) => (g as Group<HistogramChild>).child(...lv).observe(v);
      }),
    };
  }

  private dropTask(name: string): void {
    for (const f of this.families) f.dropTask(name);
  }

  /**
   * Tasks added or changed, and tasks removed: series of removed tasks go; a task whose labels
   * changed starts new series (its identity changed); per-target series of targets no longer
   * planned go. O(tasks given + per-target series of those tasks).
   */
  applyTasks(upsert: readonly TaskBlock[], remove: readonly string[] = []): void {
    for (const name of remove) {
      if (!this.series.delete(name)) continue;
      this.dropTask(name);
    }
    for (const block of upsert) this.series.set(block.task.name, this.planTask(block));
    const planned = [...this.series.values()].map((s) => ({ task: s.task, scope: s.scope, perTarget: s.targets !== undefined }));
    for (const st of this.states) st.setTasks(planned);
  }

  /** The whole plan: tasks not given are removed. */
  setTasks(blocks: readonly TaskBlock[]): void {
    const names = new Set(blocks.map((b) => b.task.name));
    this.applyTasks(
      blocks,
      [...this.series.keys()].filter((n) => !names.has(n)),
    );
  }

  private planTask(block: TaskBlock): TaskSeries {
    const task = block.task;
    const old = this.series.get(task.name);
    const key = labelsKey(task.labels);
    let s = old;
    if (s === undefined || s.labelsKey !== key) {
      if (old) this.dropTask(old.task.name);
      s = this.newSeries(task, key);
      if (old?.targets) s.targets = new Map([...old.targets].map(([t, r]) => [t, { ...r }])); // labels: set below
    }
    s.task = task;
    if (!perTarget(task)) s.targets = undefined; // aggregated: no per-target state, however many targets
    else if (s.targets === undefined) s.targets = new Map();
    else {
      // Few targets (at most max_target_series): their rows are found again by name.
      const rows = new Map(block.targets.map((t, i) => [t, i]));
      for (const [target, r] of s.targets) {
        const row = rows.get(target);
        if (row === undefined) s.targets.delete(target);
        else {
          r.ref = { block, row, target };
          r.labels = this.targetLabels(s, target, row);
        }
      }
    }
    return s;
  }

  /** task, the task's labels, the target's own labels (file_sd groups), then target */
  private targetLabels(s: TaskSeries, target: string, row: number): Labels {
    return Object.freeze({ ...s.scope.labels, ...s.task.target_labels?.[row], target });
  }

  private onTransition(t: Transition): void {
    if (t.kind !== 'path_changed') return;
    this.series.get(t.task.name)?.pathChanges.child().inc();
  }

  /** A run shed under overload (src/schedule/scheduler.ts onShed). */
  recordShed(task: Task, reason: ShedReason): void {
    this.series.get(task.name)?.shed.child(task.qos ?? 'standard', reason).inc();
  }

  /** A target's circuit breaker changed state (src/health/breaker.ts). */
  recordBreaker(task: Task, from: string, to: string): void {
    this.series.get(task.name)?.breakerMoves.child(from, to).inc();
  }

  /** Runs the scheduler did not start (src/schedule/scheduler.ts onSkip). */
  recordSkip(task: string, count = 1, cause: SkipCause = 'busy'): void {
    const s = this.series.get(task);
    if (s === undefined) return;
    // Tens of thousands a second under overload: the busy child is kept.
    if (cause === 'busy') (s.skip ??= s.skipped.child('busy')).inc(count);
    else s.skipped.child(cause).inc(count);
  }

  /** One result; a result of a task no longer planned (in flight across a reload) is not counted. */
  record(job: Job, result: ProbeResult): void {
    const s = this.series.get(job.task.name);
    if (s === undefined) return;
    if (result.success) (s.success ??= s.probes.child('success')).inc();
    else {
      (s.failure ??= s.probes.child('failure')).inc();
      s.failures.child(result.reason ?? 'internal').inc();
    }
    (s.total ??= s.phases.child('total')).observe(result.durationSeconds);
    for (const phase in result.phases) s.phases.child(phase).observe(result.phases[phase]);
    for (let i = 0; i < s.specs.length; i++) PROBER_TASK_METRICS[i].observe(result, s.specs[i]);
    for (const a of result.attribution ?? []) {
      s.verdicts.child(a.verdict).inc();
      if (a.verdict === 'local_drop') s.drops.child(a.reason ?? 'unknown', a.direction ?? 'unknown').inc();
    }
    if (s.targets === undefined) return;
    let r = s.targets.get(job.target);
    if (r === undefined) {
      if (this.health.isUp(job) === undefined) return; // the target left the plan while in flight
      r = { labels: this.targetLabels(s, job.target, job.row), ref: { block: job.block, row: job.row, target: job.target }, success: result.success, duration: 0 };
      s.targets.set(job.target, r);
    }
    r.success = result.success;
    r.duration = result.durationSeconds;
    for (const st of this.states) st.record(job.task.name, job.target, result);
    if (result.tls) r.certExpiry = result.tls.earliestExpiry;
  }
}
