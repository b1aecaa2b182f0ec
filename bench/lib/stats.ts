// Medians over runs and the one-line report format: median, spread, and the ratio to the peer
// measured in the same run.
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

export function spread(xs: number[]): string {
  return `${fmt(Math.min(...xs))}..${fmt(Math.max(...xs))}`;
}

export interface Figure {
  name: string;
  unit: string;
  runs: number[];
  peer?: { name: string; runs: number[] };
}

export function report(f: Figure): string {
  let line = `${f.name}: median ${fmt(median(f.runs))} ${f.unit} (${spread(f.runs)} over ${f.runs.length} runs)`;
  if (f.peer && f.peer.runs.length > 0) {
    const pm = median(f.peer.runs);
    line += `; ${f.peer.name} ${fmt(pm)} ${f.unit} (${spread(f.peer.runs)}); ratio ${(median(f.runs) / pm).toFixed(2)}x`;
  } else if (f.peer) {
    line += `; ${f.peer.name} not installed, no ratio`;
  }
  return line;
}
