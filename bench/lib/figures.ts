// What a scenario hands back to the frame (bench/run.ts): the lines it prints, as before, and the
// same figures as data for bench/results/<timestamp>.json and the Markdown report, with optional
// series for plots (latency samples for CDFs, RSS or any value over time).
import type { Tick } from './progress';
import { advantageOf, betterOf, median, ratioOf, report, targetMet, type Figure, type Target } from './stats';

export interface FigureRecord {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  median: number | null;
  runs: number[];
  spread: [number, number] | null;
  peer?: { name: string; median: number | null; runs: number[] };
  /** sonde's median over the peer's */
  ratio?: number;
  /** how many times better than the peer (ratio, or its inverse when lower is better) */
  advantage?: number;
  target?: Target & { met: boolean | null };
}

/** Latency (or any) samples per label, for a CDF plot; kept as at most CDF_POINTS quantiles. */
export interface CdfSeries {
  kind: 'cdf';
  name: string;
  unit: string;
  samples: Record<string, number[]>;
}

/** y over x per label (RSS over time in the million-target run, throughput per run...). */
export interface LineSeries {
  kind: 'line';
  name: string;
  xUnit: string;
  unit: string;
  points: Record<string, Array<[number, number]>>;
}

export type Series = CdfSeries | LineSeries;

export interface ScenarioResult {
  lines: string[];
  figures: FigureRecord[];
  series: Series[];
}

/** What a scenario function may return: the frame's result, or (older scenarios) its lines only. */
export type ScenarioOutput = ScenarioResult | string[];

/** What the frame hands every scenario. */
export interface ScenarioContext {
  /** a small version of the scenario (npm run bench -- --quick) */
  quick: boolean;
  /** runs per figure: BENCH_RUNS, else 3 (1 with --quick) */
  runs: number;
  progress: Tick;
}

/** A scenario: one function of the context. */
export type ScenarioFn = (ctx: ScenarioContext) => Promise<ScenarioOutput>;

export function normalize(out: ScenarioOutput): ScenarioResult {
  if (Array.isArray(out)) return { lines: out.map(String), figures: [], series: [] };
  return { lines: out.lines ?? [], figures: out.figures ?? [], series: out.series ?? [] };
}

export function record(f: Figure): FigureRecord {
  const finite = f.runs.filter(Number.isFinite);
  const r: FigureRecord = {
    name: f.name,
    unit: f.unit,
    better: betterOf(f),
    median: finite.length ? median(finite) : null,
    runs: f.runs,
    spread: finite.length ? [Math.min(...finite), Math.max(...finite)] : null,
  };
  if (f.peer) r.peer = { name: f.peer.name, median: f.peer.runs.length ? median(f.peer.runs) : null, runs: f.peer.runs };
  const ratio = ratioOf(f);
  if (ratio !== undefined && Number.isFinite(ratio)) {
    r.ratio = ratio;
    r.advantage = advantageOf(f);
  }
  if (f.target) r.target = { ...f.target, met: targetMet(f) ?? null };
  return r;
}

export const CDF_POINTS = 200;

/** `n` evenly spaced quantiles of xs (all of it when shorter), ascending. */
export function quantiles(xs: ArrayLike<number>, n = CDF_POINTS): number[] {
  const s = Float64Array.from(xs).sort();
  if (s.length <= n) return Array.from(s);
  return Array.from({ length: n }, (_, i) => s[Math.round((i / (n - 1)) * (s.length - 1))]);
}

/** Collects a scenario's lines, figures and series as it goes. */
export class Results implements ScenarioResult {
  readonly lines: string[] = [];
  readonly figures: FigureRecord[] = [];
  readonly series: Series[] = [];

  /** A figure: its printed line and its record. */
  fig(f: Figure): this {
    this.lines.push(report(f));
    this.figures.push(record(f));
    return this;
  }

  line(...text: string[]): this {
    this.lines.push(...text);
    return this;
  }

  cdf(name: string, unit: string, samples: Record<string, ArrayLike<number>>): this {
    const out: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(samples)) if (v.length > 0) out[k] = quantiles(v);
    if (Object.keys(out).length > 0) this.series.push({ kind: 'cdf', name, unit, samples: out });
    return this;
  }

  curve(name: string, xUnit: string, unit: string, points: Record<string, Array<[number, number]>>): this {
    this.series.push({ kind: 'line', name, xUnit, unit, points });
    return this;
  }

  /** Another result's content appended (a scenario made of parts). */
  add(r: ScenarioOutput): this {
    const n = normalize(r);
    this.lines.push(...n.lines);
    this.figures.push(...n.figures);
    this.series.push(...n.series);
    return this;
  }
}
