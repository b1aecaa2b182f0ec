// A task's targets, from its `targets:` list and its `targets_files:`, checked as one list: the
// prober's target shape and no target twice (wherever each copy is). The config loader runs it on
// the YAML nodes; the targets-file watcher (src/config/targets_watch.ts) runs it again on a file
// that changed, with the task's own list as it was loaded, so both refuse the same things alike.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isSeq } from 'yaml';
import type { Task } from './types';
import { indexPath, shown, shownText, type ConfigIssue, type Ctx, type Fields } from './schema';
import { FileIssues, parseTargetsFile, type GroupLabels } from './targets_file';
import { proberFor } from '../probers/index';
import type { TargetCheckScope } from '../probers/descriptor';

/** Bytes a targets file may have: a million long URLs fit; a bound on what one read may cost. */
export const MAX_TARGETS_FILE_BYTES = 256 * 1024 * 1024;

/**
 * The targets a task's own `targets:` list gave (the rest came from its files), by the task's final
 * targets array: a copy of the task (`{...task}`, as plans and changes make) still finds them.
 */
const INLINE = new WeakMap<readonly string[], readonly string[]>();

/** The task's own `targets:` (without its files' targets), as loaded. */
export function inlineTargets(task: Task): readonly string[] {
  return INLINE.get(task.targets) ?? (task.targets_files?.length ? [] : task.targets);
}

/** Where a config's relative targets file names are taken from: the config file's folder. */
export function configDir(configFile: string): string {
  return dirname(resolve(configFile));
}

export const resolveTargetsFile = (name: string, baseDir: string): string => (isAbsolute(name) ? name : resolve(baseDir, name));

interface Source {
  targets: readonly string[];
  /** reports target i of this source: "got <it>, <expected>" (made only when it will be shown) */
  report(i: number, expected: () => string): void;
  /** "targets[3]" or "hosts.txt:4": what a duplicate message says the first copy was */
  where(i: number): string;
}

export interface CombinedTargets {
  targets: string[];
  labels?: (GroupLabels | undefined)[];
  ok: boolean;
}

/** One list from the sources, in order; each target checked against the prober and the ones before. */
function combine(sources: Source[], labelsOf: Array<(GroupLabels | undefined)[] | undefined>, prober: string | undefined, scope: TargetCheckScope): CombinedTargets {
  const check = prober === undefined ? undefined : proberFor(prober)?.checkTarget;
  const first = new Map<string, { s: number; i: number }>();
  const targets: string[] = [];
  const anyLabels = labelsOf.some((l) => l !== undefined);
  const labels: (GroupLabels | undefined)[] | undefined = anyLabels ? [] : undefined;
  let ok = true;
  sources.forEach((src, s) => {
    const own = labelsOf[s];
    for (let i = 0; i < src.targets.length; i++) {
      const t = src.targets[i];
      const seen = first.get(t);
      if (seen !== undefined) {
        src.report(i, () => `expected a target not listed before (same as ${sources[seen.s].where(seen.i)})`);
        ok = false;
        continue;
      }
      first.set(t, { s, i });
      const problem = check?.(t, scope);
      if (problem !== undefined) {
        src.report(i, () => `expected ${problem} for a ${prober} module`);
        ok = false;
        continue;
      }
      targets.push(t);
      labels?.push(own?.[i]);
    }
  });
  return { targets, labels, ok };
}

interface FileRead {
  source?: Source;
  labels?: (GroupLabels | undefined)[];
  /** the file's own problems (its syntax, its groups) */
  parseIssues: ConfigIssue[];
  /** the checks' problems of its targets, filled by combine() */
  checks?: FileIssues;
  /** why the file could not be read at all */
  unreadable?: string;
}

/** Reads and parses one targets file; `name` is how duplicate messages name it. */
function readFile(name: string, abs: string, prefix: string): FileRead {
  let text: string;
  try {
    const size = statSync(abs).size;
    if (size > MAX_TARGETS_FILE_BYTES) return { parseIssues: [], unreadable: `got ${size} bytes, expected at most ${MAX_TARGETS_FILE_BYTES} (256 MiB)` };
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    return { parseIssues: [], unreadable: `cannot read the file: ${(e as Error).message.replace(/, \w+ '.*'$/s, '')}` };
  }
  const parsed = parseTargetsFile(text, abs, prefix);
  const checks = new FileIssues(abs, prefix);
  const source: Source = {
    targets: parsed.targets,
    report: (i, expected) => {
      // Past the cap a problem is only counted: finding a position costs a parse of the file.
      if (checks.full) return checks.skip();
      const at = parsed.locate(i);
      checks.add(at.line, at.column, at.inner, `got ${shownText(JSON.stringify(parsed.targets[i]))}, ${expected()}`);
    },
    where: (i) => `${name}:${parsed.locate(i).line}`,
  };
  return { source, labels: parsed.labels, parseIssues: parsed.issues, checks };
}

/**
 * The config loader's check of a task's targets (its `targets:` nodes and its files, resolved
 * against `baseDir`): sets task.targets (and target_labels, targets_files made absolute).
 */
export function checkTaskTargets(task: Task, prober: string | undefined, f: Fields, ctx: Ctx, scope: TargetCheckScope, baseDir: string): boolean {
  const { path, node } = f.at('targets');
  const items = isSeq(node) ? node.items.map((raw) => ctx.resolve(raw)) : [];
  const sources: Source[] = [
    {
      targets: task.targets,
      report: (i, expected) => ctx.report(items[i], indexPath(path, i), `got ${shown(items[i])}, ${expected()}`),
      where: (i) => `targets[${i}]`,
    },
  ];
  const labelsOf: Array<(GroupLabels | undefined)[] | undefined> = [undefined];
  const reads: FileRead[] = [];
  let ok = true;
  const names = task.targets_files ?? [];
  const filesAt = f.at('targets_files');
  const fileNodes = isSeq(filesAt.node) ? filesAt.node.items.map((raw) => ctx.resolve(raw)) : [];
  const absolute = names.map((name, i) => {
    const abs = resolveTargetsFile(name, baseDir);
    const r = readFile(name, abs, indexPath(filesAt.path, i));
    if (r.unreadable !== undefined) {
      ctx.report(fileNodes[i] ?? filesAt.node, indexPath(filesAt.path, i), `got ${shown(fileNodes[i] ?? null)}, ${r.unreadable}`);
      ok = false;
    } else if (r.source) {
      ctx.issues.push(...r.parseIssues);
      ok = r.parseIssues.length === 0 && ok;
      sources.push(r.source);
      labelsOf.push(r.labels);
      reads.push(r);
    }
    return abs;
  });
  const inline = task.targets;
  const all = combine(sources, labelsOf, prober, scope);
  for (const r of reads) ctx.issues.push(...(r.checks?.done() ?? []));
  if (names.length > 0) {
    task.targets_files = absolute;
    task.targets = all.targets;
    if (all.labels) task.target_labels = all.labels;
    INLINE.set(task.targets, inline);
    if (all.ok && ok && all.targets.length === 0) {
      ctx.report(filesAt.node, filesAt.path, 'the files list no target (a task needs at least one)');
      ok = false;
    }
  }
  return all.ok && ok;
}

/** A copy of the task with the targets a rebuild gave (its own `targets:` list carried over). */
export function withTargets(task: Task, combined: CombinedTargets): Task {
  const next: Task = { ...task, targets: combined.targets, target_labels: combined.labels };
  if (combined.labels === undefined) delete next.target_labels;
  INLINE.set(next.targets, inlineTargets(task));
  return next;
}

/**
 * The watcher's rebuild of a task's targets after one of its files changed: its own `targets:`
 * list as loaded plus every file read again. Issues name each file and line; none: the new lists.
 */
export function rebuildTaskTargets(task: Task, prober: string | undefined, scope: TargetCheckScope, pathOf: (i: number) => string): CombinedTargets & { issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const inline = inlineTargets(task);
  const sources: Source[] = [{ targets: inline, report: () => undefined, where: (i) => `targets[${i}]` }];
  const labelsOf: Array<(GroupLabels | undefined)[] | undefined> = [undefined];
  const reads: FileRead[] = [];
  (task.targets_files ?? []).forEach((abs, i) => {
    const r = readFile(abs, abs, pathOf(i));
    if (r.unreadable !== undefined) issues.push({ file: abs, path: pathOf(i), line: 1, column: 1, message: r.unreadable });
    else if (r.source) {
      issues.push(...r.parseIssues);
      sources.push(r.source);
      labelsOf.push(r.labels);
      reads.push(r);
    }
  });
  const all = combine(sources, labelsOf, prober, scope);
  for (const r of reads) issues.push(...(r.checks?.done() ?? []));
  if (issues.length === 0 && all.targets.length === 0) issues.push({ file: task.targets_files?.[0] ?? '', path: pathOf(0), line: 1, column: 1, message: 'the files list no target (a task needs at least one)' });
  return { ...all, ok: all.ok && issues.length === 0, issues };
}
