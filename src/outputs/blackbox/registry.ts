// A fresh registry per /probe request, as blackbox_exporter makes one: only gauges, rendered in the
// Prometheus text format as Go's client (blackbox_exporter's) renders it. Every /probe answer is rendered here, so
// the per-request work is kept small: the HELP/TYPE lines of a series are built once per name and
// help text, label sets are kept in a short array (a series has a handful at most), and escaping
// is skipped for text that needs none.

export interface ProbeGauge {
  set(labels: Record<string, string>, value: number): void;
  set(value: number): void;
}

interface Entry {
  key: string;
  labels: Record<string, string> | undefined;
  value: number;
}

class Series implements ProbeGauge {
  readonly entries: Entry[] = [];
  constructor(
    readonly name: string,
    /** the HELP and TYPE lines */
    readonly header: string,
    /** what precedes the value on a line without labels: newline, name, space */
    readonly bare: string,
    readonly labelNames: readonly string[],
  ) {}

  set(a: Record<string, string> | number, b?: number): void {
    if (typeof a === 'number') return this.put('', undefined, a);
    const names = this.labelNames;
    let key = '';
    for (const k in a) if (!names.includes(k)) throw new Error(`Added label "${k}" is not included in initial labelset: ${JSON.stringify(names)}`);
    for (let i = 0; i < names.length; i++) key += (i > 0 ? '\u0000' : '') + (a[names[i]] ?? '');
    this.put(key, a, b as number);
  }

  // A label set given again replaces its value and keeps its place, as prom-client's map does.
  private put(key: string, labels: Record<string, string> | undefined, value: number): void {
    for (const e of this.entries) {
      if (e.key === key) {
        e.labels = labels;
        e.value = value;
        return;
      }
    }
    this.entries.push({ key, labels, value });
  }
}

// Prometheus text format 0.0.4: help escapes \ and newline; label values also escape ".
function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabel(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

// Most values of a probe are small integers (success, status, versions, counts): their text is
// made once. Number-to-string was the renderer's largest cost at tens of thousands of answers a second.
const SMALL_INTS: readonly string[] = Array.from({ length: 1024 }, (_, i) => String(i));

// "000000000".slice(digits): the zeros that pad a fraction of nanoseconds to nine digits.
const ZEROS = '000000000';

/**
 * Text of a value. Nanoseconds are all a clock here gives: seconds from performance.now()
 * differences carry 17 digits of float noise (0.00003318899999999303), which cost the most to print
 * and mean nothing, so values below 1e6 print rounded to the nanosecond, as
 * String(Math.round(v * 1e9) / 1e9) prints them. The common case (a positive duration of at least
 * a microsecond) is built from integers, which V8 prints far faster than a double.
 */
export function formatValue(v: number): string {
  if (v >= 0 && v < 1024 && Number.isInteger(v)) return SMALL_INTS[v];
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (!(Math.abs(v) < 1e6)) return String(v);
  const ns = Math.round(v * 1e9);
  // Below a microsecond String() switches to exponent notation: leave those to it.
  if (ns < 1000 || ns >= 1e15) return String(ns / 1e9);
  const whole = Math.floor(ns / 1e9);
  let frac = ns - whole * 1e9;
  if (frac === 0) return String(whole);
  let digits = 9;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  const f = String(frac);
  return `${whole < 1024 ? SMALL_INTS[whole] : String(whole)}.${ZEROS.slice(f.length + 9 - digits)}${f}`;
}

// "# HELP name help\n# TYPE name gauge" by name; a name seen with another help text is built anew.
interface Header {
  help: string;
  text: string;
  bare: string;
}
const HEADERS = new Map<string, Header>();
const MAX_HEADERS = 4096; // names come from code and configured label names, but stay bounded

function header(name: string, help: string): Header {
  const h = HEADERS.get(name);
  if (h !== undefined && h.help === help) return h;
  const made = { help, text: `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} gauge`, bare: `\n${name} ` };
  if (HEADERS.size >= MAX_HEADERS) HEADERS.clear();
  HEADERS.set(name, made);
  return made;
}

/** client_golang's MetricSorter: label values compared in label-name order, bytewise. */
function compareValues(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

export class ProbeRegistry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly series: Series[] = [];

  /** Registers a gauge; label sets are written in the order given by labelNames. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): ProbeGauge {
    for (const s of this.series) if (s.name === name) throw new Error(`A metric with the name ${name} has already been registered.`);
    const h = header(name, help);
    const s = new Series(name, h.text, h.bare, labelNames);
    this.series.push(s);
    return s;
  }

  /**
   * The text blackbox_exporter's Go client writes (client_golang Gather + expfmt): families sorted by
   * name, a family's series by their label values (label names in order), labels by name on each
   * line, no blank lines between families, and a labelled family without series left out. Then a
   * text diff against blackbox shows only what differs.
   */
  metricsSync(): string {
    let out = '';
    const families = this.series.length > 1 ? [...this.series].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : this.series;
    for (const s of families) {
      if (s.entries.length === 0) {
        if (s.labelNames.length === 0) out += `${out === '' ? '' : '\n'}${s.header}${s.bare}0`;
        continue;
      }
      out += (out === '' ? '' : '\n') + s.header;
      if (s.labelNames.length === 0) {
        out += s.bare + formatValue(s.entries[0].value);
        continue;
      }
      const names = [...s.labelNames].sort();
      const rows = s.entries.map((e) => ({ values: names.map((n) => e.labels?.[n] ?? ''), value: e.value }));
      if (rows.length > 1) rows.sort((x, y) => compareValues(x.values, y.values));
      for (const row of rows) {
        let l = '';
        for (let i = 0; i < names.length; i++) l += `${i === 0 ? '' : ','}${names[i]}="${escapeLabel(row.values[i])}"`;
        out += `\n${s.name}{${l}} ${formatValue(row.value)}`;
      }
    }
    return out === '' ? '' : `${out}\n`;
  }

  /** prom-client's Registry.metrics() shape, so callers and tests need not care which they hold. */
  async metrics(): Promise<string> {
    return this.metricsSync();
  }
}
