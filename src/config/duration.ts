// Duration strings as blackbox_exporter users write them. Two grammars meet here:
// - Prometheus model.Duration: "[0-9]+(ms|s|m|h|d|w|y)" repeated ("1m30s", "1d", "250ms");
// - Go time.ParseDuration, which yaml.v3 applies to blackbox's module `timeout` (a time.Duration):
//   fractions and sub-millisecond units ("1.5s", "500us").
// sonde accepts the union, and (sonde extension) a plain number means seconds ("15", "0.5").
// Negative durations are rejected: no duration in the config can meaningfully be negative.

const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  'µs': 1e-6, // U+00B5 micro sign, as Go accepts
  'μs': 1e-6, // U+03BC greek mu, as Go accepts
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 7 * 86400,
  y: 365 * 86400, // Prometheus: a year is always 365 days
};

const PLAIN_NUMBER = /^\d+(\.\d+)?$/;
// Longest units first inside the alternation so "ms" is not read as "m" followed by "s".
const COMPONENT = /(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h|d|w|y)/y;

/** Parses a duration into seconds. Throws an Error naming the problem on bad input. */
export function parseDuration(s: string): number {
  if (typeof s !== 'string') throw new Error(`duration must be a string, got ${typeof s}`);
  const text = s.trim();
  if (text === '') throw new Error('empty duration');
  if (PLAIN_NUMBER.test(text)) return Number(text);
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    COMPONENT.lastIndex = pos;
    const m = COMPONENT.exec(text);
    if (!m) {
      throw new Error(`not a valid duration: ${JSON.stringify(s)} (expected e.g. "5s", "1m30s", "250ms", "1h")`);
    }
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    pos = COMPONENT.lastIndex;
  }
  if (!Number.isFinite(total)) throw new Error(`duration out of range: ${JSON.stringify(s)}`);
  // Sums of fractional units pick up float noise (0.1s + 0.2s); round to the nanosecond Go keeps.
  return Math.round(total * 1e9) / 1e9;
}

/** Formats seconds the short way a human would write them back: 90 → "1m30s", 0.25 → "250ms". */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return `${Math.round(seconds * 1e6)}us`;
  let out = '';
  const parts: Array<[number, string]> = [
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
    [1, 'ms'],
  ];
  for (const [size, unit] of parts) {
    if (ms >= size) {
      out += `${Math.floor(ms / size)}${unit}`;
      ms %= size;
    }
  }
  return out;
}
