// Targets from files (a task's `targets_files:`), in the two shapes users bring:
// - Prometheus file_sd (*.json, *.yml, *.yaml): a list of groups `{targets: [...], labels: {...}}`;
//   every target of a group shares the group's labels (one object per group, not per target);
// - one target per line (any other name), as Cloudprober's file_targets users keep them: blank
//   lines and lines starting with `#` are skipped.
// Parsing only; the task's checks (the prober's target shape, duplicates) are schema_tasks.ts's.
// JSON goes through JSON.parse (a million targets in well under a second); positions are only
// needed for a problem, so only then is the text parsed again as YAML (JSON is YAML) to find them.
import { extname } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { ConfigIssue } from './schema';
import { shownText } from './schema';
import { labelNameProblem } from './label_names';
import { jsonErrorAt, jsonOffset } from './json_locate';
import { fastFileSD, type FastSD } from './file_sd_yaml_fast';

export type TargetsFormat = 'file_sd_json' | 'file_sd_yaml' | 'lines';

export function targetsFormat(file: string): TargetsFormat {
  const ext = extname(file).toLowerCase();
  return ext === '.json' ? 'file_sd_json' : ext === '.yml' || ext === '.yaml' ? 'file_sd_yaml' : 'lines';
}

/** Problems one file may report; past them, one line says how many more there were. */
export const MAX_FILE_ISSUES = 20;

export type GroupLabels = Readonly<Record<string, string>>;

export interface FileTargets {
  targets: string[];
  /** per target, its group's labels; undefined when no group of the file has any */
  labels?: (GroupLabels | undefined)[];
  /** where target i is: line, column, and its path inside the file ("[0].targets[3]", "line 12") */
  locate(i: number): { line: number; column: number; inner: string };
  issues: ConfigIssue[];
}

/** Collects a file's issues, MAX_FILE_ISSUES at most (then a count of the rest). */
export class FileIssues {
  readonly issues: ConfigIssue[] = [];
  private more = 0;
  /** the line of the first problem left out, where the "N more" line goes */
  private moreAt = 1;
  constructor(
    readonly file: string,
    /** the config path of the file ("tasks[0].targets_files[1]"), before each inner path */
    readonly prefix: string,
  ) {}

  /** Whether another problem would only be counted (its position need not be found). */
  get full(): boolean {
    return this.issues.length >= MAX_FILE_ISSUES;
  }

  /** Counts a problem past the cap without its position. */
  skip(): void {
    this.more++;
  }

  add(line: number, column: number, inner: string, message: string): void {
    if (this.issues.length < MAX_FILE_ISSUES) this.issues.push({ file: this.file, path: `${this.prefix}${inner}`, line, column, message });
    else if (this.more++ === 0) this.moreAt = line;
  }

  /** The issues, closed by "N more" when some were left out. */
  done(): ConfigIssue[] {
    // After the problems shown, in line order.
    if (this.more > 0) this.issues.push({ file: this.file, path: this.prefix, line: Math.max(this.moreAt, ...this.issues.map((i) => i.line)), column: 1, message: `${this.more} more problems in this file not shown` });
    this.more = 0;
    return this.issues;
  }
}

function parseLines(text: string, out: FileIssues): FileTargets {
  const targets: string[] = [];
  const lines: number[] = [];
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    const t = text.slice(start, end).trim();
    start = end + 1;
    if (t === '' || t.startsWith('#')) continue;
    targets.push(t);
    lines.push(line);
  }
  return { targets, locate: (i) => ({ line: lines[i], column: 1, inner: '' }), issues: out.done() };
}

type Path = (string | number)[];
const innerPath = (p: Path): string => p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
const got = (v: unknown): string =>
  v === null || v === undefined ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : shownText(JSON.stringify(v));

/**
 * Positions of nodes in the file: YAML from its parsed document; JSON by a scan of the text
 * (json_locate.ts), made only for a problem.
 */
class Positions {
  private lines?: LineCounter;
  private parsed?: { doc: Document; lc: LineCounter };
  constructor(
    private readonly text: string,
    private readonly kind: 'json' | 'yaml',
    /** YAML read by the fast reader: its targets' positions, the rest from a full parse if needed */
    private readonly fast?: FastSD,
  ) {}

  at(p: Path, key = false): { line: number; column: number } {
    if (this.kind === 'json') {
      this.lines ??= lineStarts(this.text);
      const { line, col } = this.lines.linePos(jsonOffset(this.text, p, key) ?? 0);
      return { line, column: col };
    }
    const known = this.fast && p.length === 3 && p[1] === 'targets' && !key ? this.fast.positions[p[0] as number]?.[p[2] as number] : undefined;
    if (known) return { line: known[0], column: known[1] };
    this.parsed ??= (() => {
      const lc = new LineCounter();
      return { doc: parseDocument(this.text, { lineCounter: lc, merge: true }), lc };
    })();
    const { doc, lc } = this.parsed;
    let node: unknown = p.length === 0 ? doc.contents : doc.getIn(p, true);
    if (key && p.length > 0) {
      const parent = doc.getIn(p.slice(0, -1), true) as { items?: Array<{ key: unknown }> } | undefined;
      node = parent?.items?.find((it) => isNode(it.key) && (it.key as { value?: unknown }).value === p[p.length - 1])?.key ?? node;
    }
    const { line, col } = lc.linePos(isNode(node) ? (node.range?.[0] ?? 0) : 0);
    return { line, column: col };
  }
}

/** The text's line starts, for offsets to line:column. */
function lineStarts(text: string, upTo = text.length): LineCounter {
  const lc = new LineCounter();
  lc.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0 && i < upTo; i = text.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
  return lc;
}

const GROUP_KEYS = ['targets', 'labels'];

/** file_sd groups from the parsed value; problems are reported at their node. */
function fileSD(data: unknown, pos: Positions, out: FileIssues): FileTargets {
  const targets: string[] = [];
  const labels: (GroupLabels | undefined)[] = [];
  /** per group with targets: the index of its first target, and its index in the file */
  const groupFirst: number[] = [];
  const groupIndex: number[] = [];
  let anyLabels = false;
  const report = (p: Path, message: string, key = false): void => {
    const { line, column } = pos.at(p, key);
    out.add(line, column, innerPath(p), message);
  };
  if (!Array.isArray(data)) {
    report([], `got ${got(data)}, expected a list of target groups ({targets: [...], labels: {...}})`);
    data = [];
  }
  (data as unknown[]).forEach((group, g) => {
    if (group === null || typeof group !== 'object' || Array.isArray(group)) {
      report([g], `got ${got(group)}, expected a target group ({targets: [...], labels: {...}})`);
      return;
    }
    const obj = group as Record<string, unknown>;
    for (const k of Object.keys(obj)) if (!GROUP_KEYS.includes(k)) report([g, k], `unknown key (expected one of: ${GROUP_KEYS.join(', ')})`, true);
    let shared: GroupLabels | undefined;
    if (obj.labels !== undefined && obj.labels !== null) {
      if (typeof obj.labels !== 'object' || Array.isArray(obj.labels)) report([g, 'labels'], `got ${got(obj.labels)}, expected a mapping`);
      else {
        const l: Record<string, string> = {};
        for (const [k, v] of Object.entries(obj.labels as Record<string, unknown>)) {
          const problem = labelNameProblem(k);
          if (problem !== undefined) report([g, 'labels', k], `got ${JSON.stringify(k)}, expected ${problem}`, true);
          else if (typeof v !== 'string') report([g, 'labels', k], `got ${got(v)}, expected a string`);
          else Object.defineProperty(l, k, { value: v, enumerable: true });
        }
        if (Object.keys(l).length > 0) shared = Object.freeze(l);
      }
    }
    const list = obj.targets;
    if (!Array.isArray(list)) {
      report(list === undefined ? [g] : [g, 'targets'], list === undefined ? 'missing required key targets' : `got ${got(list)}, expected a list`);
      return;
    }
    anyLabels ||= shared !== undefined;
    groupFirst.push(targets.length);
    groupIndex.push(g);
    list.forEach((t, j) => {
      if (typeof t !== 'string' || t === '') return report([g, 'targets', j], `got ${got(t)}, expected a non-empty target string`);
      targets.push(t);
      labels.push(shared);
    });
  });
  const locate = (i: number): { line: number; column: number; inner: string } => {
    let lo = 0;
    let hi = groupFirst.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (groupFirst[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    const first = groupFirst[lo];
    const g = groupIndex[lo];
    // Within a group, skipped (bad) items shift indexes: find the j-th string item.
    const items = (data as Array<{ targets: unknown[] }>)[g].targets;
    let n = first;
    let j = 0;
    for (; j < items.length; j++) if (typeof items[j] === 'string' && items[j] !== '' && n++ === i) break;
    const p: Path = [g, 'targets', j];
    return { ...pos.at(p), inner: innerPath(p) };
  };
  return { targets, labels: anyLabels ? labels : undefined, locate, issues: out.done() };
}

function jsonSyntax(text: string, out: FileIssues): void {
  const { offset, what } = jsonErrorAt(text);
  const { line, col } = lineStarts(text, offset).linePos(offset);
  out.add(line, col, '', `not valid JSON: ${what}`);
}

/**
 * Parses a targets file's text (`file` names it in issues, `prefix` is its config path). Problems
 * come back in `issues`, positioned in the file; the targets read are returned whatever they say.
 */
export function parseTargetsFile(text: string, file: string, prefix: string): FileTargets {
  const out = new FileIssues(file, prefix);
  const format = targetsFormat(file);
  if (format === 'lines') return parseLines(text, out);
  let data: unknown;
  let fast: FastSD | undefined;
  if (format === 'file_sd_json') {
    try {
      data = JSON.parse(text);
    } catch {
      jsonSyntax(text, out);
      return { targets: [], locate: () => ({ line: 1, column: 1, inner: '' }), issues: out.done() };
    }
  } else if ((fast = fastFileSD(text)) !== undefined) {
    data = fast.groups;
  } else {
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, merge: true, uniqueKeys: true, prettyErrors: false });
    for (const e of doc.errors) {
      const { line, col } = lc.linePos(e.pos[0]);
      out.add(line, col, '', e.message);
    }
    if (doc.errors.length > 0) return { targets: [], locate: () => ({ line: 1, column: 1, inner: '' }), issues: out.done() };
    try {
      // maxAliasCount bounds what aliases may expand to (a "billion laughs" file).
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      out.add(1, 1, '', (err as Error).message);
      return { targets: [], locate: () => ({ line: 1, column: 1, inner: '' }), issues: out.done() };
    }
  }
  return fileSD(data ?? [], new Positions(text, format === 'file_sd_json' ? 'json' : 'yaml', fast), out);
}
