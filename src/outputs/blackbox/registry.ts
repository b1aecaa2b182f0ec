// A fresh registry per /probe request, as blackbox_exporter makes one: only gauges, rendered in the
// Prometheus text format exactly as prom-client renders it. Every /probe answer is rendered here, so
// the per-request work is kept small: the HELP/TYPE lines of a series are built once per name and
// help text, label sets are kept in a short array (a series has a handful at most), and escaping
// is skipped for text that needs none.
import { ByteSink, encode } from '../../util/byte_sink';

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
    /** the series' fixed text (HELP and TYPE lines, line openings) */
    readonly text: Header,
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

// A series' fixed text, by name, encoded once per name and help text (a name seen with another
// help text is made anew): an answer is mostly this text, around a few dozen values.
interface Header {
  help: string;
  /** "# HELP name help\n# TYPE name gauge" */
  head: Uint8Array;
  /** the head after another series: a blank line first */
  later: Uint8Array;
  /** the head and the opening of a line without labels ("\nname "), first or after another series */
  headBare: Uint8Array;
  laterBare: Uint8Array;
  /** the opening of a further line without labels, and of a line with labels ("\nname{") */
  bare: Uint8Array;
  open: Uint8Array;
}
const HEADERS = new Map<string, Header>();
const MAX_HEADERS = 4096; // names come from code and configured label names, but stay bounded

function header(name: string, help: string): Header {
  const h = HEADERS.get(name);
  if (h !== undefined && h.help === help) return h;
  const head = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} gauge`;
  const bare = `\n${name} `;
  const made = {
    help,
    head: encode(head),
    later: encode(`\n\n${head}`),
    headBare: encode(head + bare),
    laterBare: encode(`\n\n${head}${bare}`),
    bare: encode(bare),
    open: encode(`\n${name}{`),
  };
  if (HEADERS.size >= MAX_HEADERS) HEADERS.clear();
  HEADERS.set(name, made);
  return made;
}

const ZERO = encode('0');
const COMMA = encode(',');
const EQ_QUOTE = encode('="');
const QUOTE = encode('"');
const CLOSE = encode('} ');
const NEWLINE = encode('\n');

// One sink for every answer: the JS thread renders one answer at a time.
const SINK = new ByteSink();

export class ProbeRegistry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly series: Series[] = [];

  /** Registers a gauge; label sets are written in the order given by labelNames. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): ProbeGauge {
    for (const s of this.series) if (s.name === name) throw new Error(`A metric with the name ${name} has already been registered.`);
    const s = new Series(name, header(name, help), labelNames);
    this.series.push(s);
    return s;
  }

  /** Writes the exposition into `out`. */
  writeTo(out: ByteSink): void {
    const start = out.length;
    for (const s of this.series) {
      const t = s.text;
      const first = out.length === start;
      if (s.entries.length === 0) {
        // prom-client writes an unlabelled gauge never set as 0, a labelled one as its head alone.
        if (s.labelNames.length === 0) {
          out.bytes(first ? t.headBare : t.laterBare);
          out.bytes(ZERO);
        } else out.bytes(first ? t.head : t.later);
        continue;
      }
      let headed = false;
      for (const { labels, value } of s.entries) {
        let labelled = false;
        if (labels) {
          for (const k in labels) {
            if (!labelled) {
              if (!headed) out.bytes(first ? t.head : t.later);
              out.bytes(t.open);
              labelled = true;
            } else out.bytes(COMMA);
            out.text(k);
            out.bytes(EQ_QUOTE);
            out.text(escapeLabel(labels[k]));
            out.bytes(QUOTE);
          }
        }
        if (labelled) out.bytes(CLOSE);
        else out.bytes(headed ? t.bare : first ? t.headBare : t.laterBare);
        out.text(formatValue(value));
        headed = true;
      }
    }
    if (out.length !== start) out.bytes(NEWLINE);
  }

  /** The exposition as UTF-8 bytes (what /probe sends). */
  metricsBytes(): Buffer {
    SINK.reset();
    this.writeTo(SINK);
    return SINK.copy();
  }

  metricsSync(): string {
    SINK.reset();
    this.writeTo(SINK);
    return SINK.toString();
  }

  /** prom-client's Registry.metrics() shape, so callers and tests need not care which they hold. */
  async metrics(): Promise<string> {
    return this.metricsSync();
  }
}
