// Medians over runs and the one-line report format: median, spread, and the ratio to the peer
// measured in the same run (plus, when the issue sets one, whether the target is met).
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

export function spread(xs: number[]): string {
  return `${fmt(Math.min(...xs))}..${fmt(Math.max(...xs))}`;
}

/**
 * A goal the issue sets. `advantage` is how many times better sonde is than the peer (median over
 * peer median when higher is better, the inverse when lower is); `median` is sonde's own figure.
 */
export interface Target {
  of: 'advantage' | 'median';
  atLeast?: number;
  atMost?: number;
}

export interface Figure {
  name: string;
  unit: string;
  runs: number[];
  peer?: { name: string; runs: number[] };
  /** default: higher is better when the unit is a rate ("/s"), lower otherwise */
  better?: 'higher' | 'lower';
  target?: Target;
}

export function betterOf(f: Figure): 'higher' | 'lower' {
  return f.better ?? (f.unit.endsWith('/s') ? 'higher' : 'lower');
}

/** sonde's median over the peer's, undefined without a peer figure. */
export function ratioOf(f: Figure): number | undefined {
  if (!f.peer || f.peer.runs.length === 0 || f.runs.length === 0) return undefined;
  return median(f.runs) / median(f.peer.runs);
}

export function advantageOf(f: Figure): number | undefined {
  const r = ratioOf(f);
  if (r === undefined) return undefined;
  return betterOf(f) === 'higher' ? r : 1 / r;
}

/** Whether the figure meets its target; undefined when there is none or nothing to judge it by. */
export function targetMet(f: Figure): boolean | undefined {
  const t = f.target;
  if (!t) return undefined;
  const v = t.of === 'median' ? (f.runs.length ? median(f.runs) : undefined) : advantageOf(f);
  if (v === undefined || !Number.isFinite(v)) return undefined;
  return (t.atLeast === undefined || v >= t.atLeast) && (t.atMost === undefined || v <= t.atMost);
}

export function targetText(t: Target, unit: string): string {
  const bound = [t.atLeast !== undefined ? `>= ${fmt(t.atLeast)}` : '', t.atMost !== undefined ? `<= ${fmt(t.atMost)}` : ''].filter(Boolean).join(' and ');
  return t.of === 'advantage' ? `${bound}x the peer` : `${bound} ${unit}`;
}

export function report(f: Figure): string {
  let line = f.runs.length
    ? `${f.name}: median ${fmt(median(f.runs))} ${f.unit} (${spread(f.runs)} over ${f.runs.length} runs)`
    : `${f.name}: no runs`;
  const r = ratioOf(f);
  if (f.peer && r !== undefined) {
    line += `; ${f.peer.name} ${fmt(median(f.peer.runs))} ${f.unit} (${spread(f.peer.runs)}); ratio ${r.toFixed(2)}x`;
  } else if (f.peer) {
    line += `; ${f.peer.name} not installed, no ratio`;
  }
  if (f.target) {
    const met = targetMet(f);
    line += `; target ${targetText(f.target, f.unit)}: ${met === undefined ? 'not judged' : met ? 'met' : 'NOT met'}`;
  }
  return line;
}
