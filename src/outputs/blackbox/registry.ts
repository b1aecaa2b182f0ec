// A fresh registry per /probe request, as blackbox_exporter makes one: only gauges, rendered in the
// Prometheus text format as Go's client (blackbox_exporter's) renders it. Every /probe answer is rendered here, so
// the per-request work is kept small: the HELP/TYPE lines of a series are built once per name and
// help text, label sets are kept in a short array (a series has a handful at most), and escaping
// is skipped for text that needs none.
import { ByteSink, encode } from '../../util/byte_sink';

export interface ProbeGauge {
  set(labels: Record<string, string>, value: number): void;
  set(value: number): void;
  /** A series of one label (its only label name) given its value: no label object made per answer. */
  setLabel(labelValue: string, value: number): void;
}

interface Entry {
  key: string;
  labels: Record<string, string> | undefined;
  value: number;
}

// The entries of every series without labels: its value is kept on the series itself.
const NO_ENTRIES: Entry[] = [];

class Series implements ProbeGauge {
  /** a labelled series' label sets; a series without labels keeps its one value in `value` */
  readonly entries: Entry[];
  /** the value of a series without labels, and whether it was set (unset renders 0) */
  value = 0;
  valueSet = false;
  /** label names as Go's client writes them on a line: sorted */
  readonly sortedNames: readonly string[];
  constructor(
    readonly name: string,
    /** the series' fixed text (HELP and TYPE lines, line openings) */
    readonly text: Header,
    readonly labelNames: readonly string[],
  ) {
    this.sortedNames = labelNames.length > 1 ? [...labelNames].sort() : labelNames;
    // Most of an answer's series have no labels: no array nor entry object made for each of them.
    this.entries = labelNames.length === 0 ? NO_ENTRIES : [];
  }

  set(a: Record<string, string> | number, b?: number): void {
    const names = this.labelNames;
    if (typeof a === 'number' && names.length === 0) {
      this.value = a;
      this.valueSet = true;
      return;
    }
    if (typeof a === 'number') return this.put('', undefined, a);
    let key = '';
    for (const k in a) if (!names.includes(k)) throw new Error(`Added label "${k}" is not included in initial labelset: ${JSON.stringify(names)}`);
    if (names.length === 0) {
      this.value = b as number;
      this.valueSet = true;
      return;
    }
    for (let i = 0; i < names.length; i++) key += (i > 0 ? '\u0000' : '') + (a[names[i]] ?? '');
    this.put(key, names.length === 1 ? undefined : a, b as number);
  }

  setLabel(labelValue: string, value: number): void {
    if (this.labelNames.length !== 1) throw new Error(`setLabel on a series of ${this.labelNames.length} labels: ${JSON.stringify(this.labelNames)}`);
    this.put(labelValue, undefined, value);
  }

  // A label set given again replaces its value. Entries are kept in the order Go's client writes them
  // (client_golang's MetricSorter), placed as they come, so an answer's render sorts nothing. Keys are
  // unique, so no two entries compare equal and the order is the one a stable sort would give. A
  // one-label entry's key is its label value, whole, and it keeps no label object.
  private put(key: string, labels: Record<string, string> | undefined, value: number): void {
    const entries = this.entries;
    let i = entries.length;
    for (let j = 0; j < entries.length; j++) {
      const e = entries[j];
      if (e.key === key) {
        e.labels = labels;
        e.value = value;
        return;
      }
    }
    const made = { key, labels, value };
    if (this.sortedNames.length === 1) {
      while (i > 0 && entries[i - 1].key > key) i--;
    } else {
      while (i > 0 && compareLabels(entries[i - 1], made, this.sortedNames) > 0) i--;
    }
    // shifted by hand: Array.prototype.splice is a call into a generic builtin, most entries go last
    entries.push(made);
    for (let j = entries.length - 1; j > i; j--) entries[j] = entries[j - 1];
    entries[i] = made;
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

const DOT = 46; // '.'

/**
 * Writes the text of a value. Nanoseconds are all a clock here gives: seconds from performance.now()
 * differences carry 17 digits of float noise (0.00003318899999999303), which cost the most to print
 * and mean nothing, so values below 1e6 print rounded to the nanosecond, as
 * String(Math.round(v * 1e9) / 1e9) prints them. The common cases (small integers: success, status,
 * counts; a positive duration of at least a microsecond) are written as digits straight into the
 * sink, with no string made: number-to-string was the renderer's largest cost.
 */
export function writeValue(out: ByteSink, v: number): void {
  if (v >= 0 && v < 1e15 && Number.isInteger(v)) return out.digits(v);
  if (Number.isNaN(v)) return out.text('NaN');
  if (v === Infinity) return out.text('+Inf');
  if (v === -Infinity) return out.text('-Inf');
  if (!(Math.abs(v) < 1e6)) return out.text(String(v));
  const ns = Math.round(v * 1e9);
  // Below a microsecond String() switches to exponent notation: leave those to it.
  if (ns < 1000 || ns >= 1e15) return out.text(String(ns / 1e9));
  const whole = Math.floor(ns / 1e9);
  let frac = ns - whole * 1e9;
  out.digits(whole);
  if (frac === 0) return;
  let digits = 9;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  out.bytes(DOT_BYTES);
  out.digits(frac, digits);
}
const DOT_BYTES = Uint8Array.of(DOT);

const SCRATCH = new ByteSink(64);
/** The text writeValue writes, as a string. */
export function formatValue(v: number): string {
  SCRATCH.reset();
  writeValue(SCRATCH, v);
  return SCRATCH.toString();
}

// A series' fixed text, by name, encoded once per name and help text (a name seen with another
// help text is made anew): an answer is mostly this text, around a few dozen values.
interface Header {
  help: string;
  /** "# HELP name help\n# TYPE name gauge" */
  head: Uint8Array;
  /** the head after another series (no blank line between families, as Go's expfmt writes) */
  later: Uint8Array;
  /** the head and the opening of a line without labels ("\nname "), first or after another series */
  headBare: Uint8Array;
  laterBare: Uint8Array;
  /** the opening of a further line without labels, and of a line with labels ("\nname{") */
  bare: Uint8Array;
  open: Uint8Array;
  /** the registry that registered this name last */
  owner?: ProbeRegistry;
  /** the name's place among every name seen, in Go's order (bytewise): families sort by it */
  order: number;
  name: string;
  /** openings of lines of a one-label series by label value (lineOpening), and the label they are for */
  lines: Map<string, Uint8Array> | undefined;
  linesLabel: string;
}

// Every name seen, sorted: a new name renumbers them (names are few and come back, so that is
// rare), and an answer's families then sort by a number, not by comparing long common prefixes.
let ORDERED: Header[] = [];
function place(h: Header): void {
  let lo = 0;
  let hi = ORDERED.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ORDERED[mid].name < h.name) lo = mid + 1;
    else hi = mid;
  }
  ORDERED.splice(lo, 0, h);
  for (let i = lo; i < ORDERED.length; i++) ORDERED[i].order = i;
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
    later: encode(`\n${head}`),
    headBare: encode(head + bare),
    laterBare: encode(`\n${head}${bare}`),
    bare: encode(bare),
    open: encode(`\n${name}{`),
    owner: undefined,
    order: 0,
    name,
    lines: undefined,
    linesLabel: '',
  };
  if (HEADERS.size >= MAX_HEADERS) {
    HEADERS.clear();
    ORDERED = [];
  }
  if (h !== undefined) ORDERED.splice(h.order, 1, made); // same name, new help: same place
  else place(made);
  HEADERS.set(name, made);
  return made;
}

const ZERO = encode('0');
const COMMA = encode(',');
const EQ_QUOTE = encode('="');
const QUOTE = encode('"');
const CLOSE = encode('} ');
const NEWLINE = encode('\n');

// Label values repeat from answer to answer (phases, flags, reasons): the opening of a line of a
// one-label series, `\nname{label="value"} `, is encoded once per value and copied whole after
// that, not built of five pieces each time. Bounded per name (values may come from targets).
const MAX_LINES = 256;
function lineOpening(t: Header, label: string, e: Entry): Uint8Array {
  if (t.lines === undefined || t.linesLabel !== label) {
    t.lines = new Map();
    t.linesLabel = label;
  }
  let b = t.lines.get(e.key);
  if (b === undefined) {
    b = encode(`\n${t.name}{${label}="${escapeLabel(e.key)}"} `);
    if (t.lines.size >= MAX_LINES) t.lines.clear();
    t.lines.set(e.key, b);
  }
  return b;
}

// The families of an answer in Go's order, sorted into a scratch array: an insertion sort by the
// names' numbers (a few dozen families, mostly in order already).
const FAMILIES: Series[] = [];
function sortedFamilies(series: readonly Series[]): Series[] {
  const out = FAMILIES;
  out.length = 0;
  for (const s of series) {
    let i = out.length;
    out.push(s);
    const k = s.text.order;
    while (i > 0 && out[i - 1].text.order > k) {
      out[i] = out[i - 1];
      i--;
    }
    out[i] = s;
  }
  return out;
}

/** client_golang's MetricSorter: label values compared in label-name order, bytewise. */
function compareLabels(a: Entry, b: Entry, names: readonly string[]): number {
  for (const n of names) {
    const x = a.labels?.[n] ?? '';
    const y = b.labels?.[n] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

// One sink for every answer: the JS thread renders one answer at a time.
const SINK = new ByteSink();

export class ProbeRegistry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly series: Series[] = [];

  /** Registers a gauge; label sets are written in the order given by labelNames. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): ProbeGauge {
    const h = header(name, help);
    // A name registered twice in one registry is a bug of its writer, as in prom-client. The
    // registry that took a name last marks its header, which costs less than a scan per name.
    if (h.owner === this && this.series.some((s) => s.name === name)) throw new Error(`A metric with the name ${name} has already been registered.`);
    h.owner = this;
    const s = new Series(name, h, labelNames);
    this.series.push(s);
    return s;
  }

  /**
   * Writes the exposition into `out` as blackbox_exporter's Go client writes it (client_golang
   * Gather + expfmt): families sorted by name, a family's series by their label values (label names
   * in order), labels by name on each line, no blank lines between families, and a labelled family
   * without series left out. Then a text diff against blackbox shows only what differs.
   */
  writeTo(out: ByteSink): void {
    const start = out.length;
    const families = sortedFamilies(this.series);
    for (const s of families) {
      const t = s.text;
      const first = out.length === start;
      if (s.labelNames.length === 0) {
        out.bytes(first ? t.headBare : t.laterBare);
        if (!s.valueSet) out.bytes(ZERO);
        else writeValue(out, s.value);
        continue;
      }
      if (s.entries.length === 0) continue;
      out.bytes(first ? t.head : t.later);
      const names = s.sortedNames;
      const rows = s.entries; // in order already (Series.put)
      if (names.length === 1) {
        // One label: an entry's key is its value, whole (Series.put).
        for (const e of rows) {
          out.bytes(lineOpening(t, names[0], e));
          writeValue(out, e.value);
        }
        continue;
      }
      for (const { labels, value } of rows) {
        out.bytes(t.open);
        for (let i = 0; i < names.length; i++) {
          if (i > 0) out.bytes(COMMA);
          out.text(names[i]);
          out.bytes(EQ_QUOTE);
          out.text(escapeLabel(labels?.[names[i]] ?? ''));
          out.bytes(QUOTE);
        }
        out.bytes(CLOSE);
        writeValue(out, value);
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
