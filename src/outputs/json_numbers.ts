// Numbers as JSON results show them, shared by resultToJSON and the probers' own JSON forms (a
// leaf module: probers import it without importing outputs/json.ts, which imports the registry).

export function round(n: number): number {
  return Math.round(n * 1e9) / 1e9; // nanosecond precision is all a clock here gives
}

export function roundPhases(p: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, round(v)]));
}
