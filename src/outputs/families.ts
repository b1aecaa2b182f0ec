// Metric families of our own for the per-task series of /metrics. Tasks carry their own `labels:`
// (different keys per task), and prom-client fixes labelNames per metric, so these families keep
// their counts in plain objects, grouped by task, and render them at scrape through prom-client's
// Registry (registered as custom metric objects with get()/getForPromString()). A child is found
// once and kept by the caller: no label hashing per observation, unlike prom-client's labels().
import type { Metric, Registry } from 'prom-client';

export type Labels = Readonly<Record<string, string>>;

/** The labels every series of one task starts with: task, then the task's own labels. */
export interface TaskScope {
  name: string;
  labels: Labels;
}

export function taskScope(name: string, taskLabels: Labels): TaskScope {
  return { name, labels: Object.freeze({ task: name, ...taskLabels }) };
}

/** A value line as prom-client's Registry renders it; sharedLabels are formatted once per object (WeakMap cache). */
interface PromValue {
  value: number;
  labels: Readonly<Record<string, string | number>>;
  sharedLabels?: Labels;
  metricName?: string;
}

interface PromMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: PromValue[];
  aggregator: 'sum';
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** The registry side: name, help, type, and the values to render. */
abstract class CustomMetric {
  readonly aggregator = 'sum';

  constructor(
    registry: Registry,
    public name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {
    // The Registry only reads name/help/type and calls get() or getForPromString(); its typings
    // name prom-client's own classes, hence the cast.
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract values(out: PromValue[]): void;

  getForPromString(): Promise<PromMetric> {
    const values: PromValue[] = [];
    this.values(values);
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** JSON form (Registry.getMetricsAsJSON): each value with all its labels in one object. */
  async get(): Promise<PromMetric> {
    const m = await this.getForPromString();
    m.values = m.values.map(({ value, labels, sharedLabels, metricName }) => ({ value, metricName, labels: { ...sharedLabels, ...labels } }));
    return m;
  }

  abstract reset(): void;
}

export class CounterChild {
  value = 0;
  constructor(readonly labels: Labels) {}

  inc(by = 1): void {
    this.value += by;
  }
}

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    // prom-client throws on these; a result output must not throw for one odd number.
    if (!Number.isFinite(seconds)) return;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++; // 16 bounds, probe times mostly in the first few
    if (i < b.length) this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }
}

/** The children of one family for one task, keyed by their own label values. */
export class Group<C> {
  readonly children = new Map<string, C>();

  constructor(
    private readonly family: TaskFamily<C>,
    readonly scope: TaskScope,
  ) {}

  /** The child with these label values (the family's labelNames, in order), made on first use. */
  child(...values: string[]): C {
    const key = values.length === 0 ? '' : values.length === 1 ? values[0] : values.join('\u0000');
    let c = this.children.get(key);
    if (c === undefined) {
      c = this.family.make(this.scope, values);
      this.children.set(key, c);
    }
    return c;
  }
}

/** A family whose series are grouped by task: dropping a task drops its series. */
export abstract class TaskFamily<C> extends CustomMetric {
  private readonly groups = new Map<string, Group<C>>();

  constructor(
    registry: Registry,
    name: string,
    help: string,
    type: 'counter' | 'histogram',
    /** label names after task and the task's labels */
    readonly labelNames: readonly string[],
  ) {
    super(registry, name, help, type);
  }

  /** This task's group; keep it, and its children, for the task's lifetime. */
  group(scope: TaskScope): Group<C> {
    let g = this.groups.get(scope.name);
    if (g === undefined || g.scope !== scope) {
      g = new Group(this, scope);
      this.groups.set(scope.name, g);
    }
    return g;
  }

  dropTask(name: string): void {
    this.groups.delete(name);
  }

  /** Zeroes every child (Registry.resetMetrics); callers keep the children they hold. */
  reset(): void {
    for (const g of this.groups.values()) for (const c of g.children.values()) this.zero(c);
  }

  make(scope: TaskScope, values: readonly string[]): C {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(`${this.name}: got ${values.length} label values, expected ${this.labelNames.length} (${this.labelNames.join(', ')})`);
    }
    const labels: Record<string, string> = { ...scope.labels };
    for (let i = 0; i < values.length; i++) labels[this.labelNames[i]] = values[i];
    return this.newChild(Object.freeze(labels));
  }

  protected abstract newChild(labels: Labels): C;
  protected abstract zero(c: C): void;
  protected abstract render(c: C, out: PromValue[]): void;

  protected values(out: PromValue[]): void {
    for (const g of this.groups.values()) for (const c of g.children.values()) this.render(c, out);
  }
}

export class CounterFamily extends TaskFamily<CounterChild> {
  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[] = []) {
    super(registry, name, help, 'counter', labelNames);
  }

  protected newChild(labels: Labels): CounterChild {
    return new CounterChild(labels);
  }

  protected zero(c: CounterChild): void {
    c.value = 0;
  }

  protected render(c: CounterChild, out: PromValue[]): void {
    out.push({ value: c.value, labels: NO_LABELS, sharedLabels: c.labels });
  }
}

export class HistogramFamily extends TaskFamily<HistogramChild> {
  private readonly le: ReadonlyArray<Readonly<Record<string, string | number>>>;
  private readonly inf = Object.freeze({ le: '+Inf' });

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(registry, name, help, 'histogram', labelNames);
    if (labelNames.includes('le')) throw new TypeError(`${name}: le is the bucket label`);
    this.le = buckets.map((le) => Object.freeze({ le }));
  }

  protected newChild(labels: Labels): HistogramChild {
    return new HistogramChild(labels, this.buckets);
  }

  protected zero(c: HistogramChild): void {
    c.counts.fill(0);
    c.sum = 0;
    c.count = 0;
  }

  protected render(c: HistogramChild, out: PromValue[]): void {
    // As prom-client's Histogram: cumulative buckets, +Inf, _sum, _count; le before the others.
    const bucket = `${this.name}_bucket`;
    let acc = 0;
    for (let i = 0; i < this.le.length; i++) {
      acc += c.counts[i];
      out.push({ value: acc, labels: this.le[i], sharedLabels: c.labels, metricName: bucket });
    }
    out.push({ value: c.count, labels: this.inf, sharedLabels: c.labels, metricName: bucket });
    out.push({ value: c.sum, labels: NO_LABELS, sharedLabels: c.labels, metricName: `${this.name}_sum` });
    out.push({ value: c.count, labels: NO_LABELS, sharedLabels: c.labels, metricName: `${this.name}_count` });
  }
}

/** A gauge family read at scrape from state kept elsewhere (the health stage, the last results). */
export class GaugeView extends CustomMetric {
  constructor(
    registry: Registry,
    name: string,
    help: string,
    /** calls emit once per series; `labels` should be an object kept across scrapes (its text is cached) */
    private readonly collect: (emit: (labels: Labels, value: number) => void) => void,
  ) {
    super(registry, name, help, 'gauge');
  }

  protected values(out: PromValue[]): void {
    this.collect((labels, value) => out.push({ value, labels: NO_LABELS, sharedLabels: labels }));
  }

  reset(): void {}
}
