// Public entry point of the config: one YAML file with `modules:` (blackbox_exporter's format, so a
// blackbox.yml loads unchanged) and `tasks:` (sonde's continuous probes). Every problem is collected
// and thrown at once as a ConfigError, each positioned at file:line:column with its YAML path.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { isAlias, isMap, isSeq, LineCounter, parseDocument, visit, type Alias, type Document, type Node } from 'yaml';
import type { Config, Module } from './types';
import { childPath, Ctx, entries, formatIssue, isNull, reservedName, reservedNameExpected, scalarText, shown, type ConfigIssue } from './schema';
import { moduleDecoder } from './schema_modules';
import { PROBER_NAMES } from '../probers/index';
import { tasksDecoder, type ModuleInfo } from './schema_tasks';
import { moduleRefusal } from './refusals';
import { probePolicyDecoder } from '../policy/config';
import { scanDecoder, scanSettings } from './schema_scan';
import { schedulerDecoder, tenantsDecoder } from './schema_tenants';
import { configDir } from './task_targets';

export type { ConfigIssue } from './schema';
export { AVAILABLE_PROBERS } from './schema_tasks';
export { parseDuration } from './duration';
export { goRegex } from './regex';

/** A config that cannot be used; `message` lists every issue, one per line. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

const TOP_KEYS = ['modules', 'tasks', 'scan', 'probe_policy', 'tenants', 'scheduler'];

function decodeModules(node: Node | null, ctx: Ctx, infos: Map<string, ModuleInfo>): Map<string, Module> {
  const modules = new Map<string, Module>();
  if (isNull(node)) return modules;
  if (!isMap(node)) {
    ctx.report(node, 'modules', `got ${shown(node)}, expected a mapping of module names to modules`);
    return modules;
  }
  for (const e of entries(node, ctx)) {
    if (reservedName(e.key)) {
      ctx.report(e.keyNode, childPath('modules', e.key), `got ${JSON.stringify(e.key)}, expected ${reservedNameExpected('module')}`);
      continue;
    }
    const m = moduleDecoder(e.key)(e.value, childPath('modules', e.key), ctx);
    if (m) modules.set(e.key, m);
    // Tasks still get checked against a module that failed, by what its YAML says.
    const raw = isMap(e.value) ? scalarText(entries(e.value, ctx).find((x) => x.key === 'prober')?.value ?? null) : undefined;
    const prober = m?.prober ?? ((PROBER_NAMES as readonly string[]).includes(raw ?? '') ? raw : undefined);
    infos.set(e.key, { prober, timeout: m?.timeout ?? 0, refusal: m && moduleRefusal(m) });
  }
  return modules;
}

/** An alias inside the node it names (`a: &a [*a]`) would make the walk below endless. */
function aliasCycles(doc: Document, ctx: Ctx): void {
  visit(doc, {
    Alias(_key, alias) {
      const target = alias.resolve(doc);
      const [a, t] = [alias.range, target?.range];
      if (a && t && a[0] >= t[0] && a[1] <= t[1]) ctx.report(alias, '(yaml)', `alias *${alias.source} is inside the node it refers to`);
    },
  });
}

/** Bytes a config file may have: far above any real one (100,000 targets fit), and a bound on parsing. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/**
 * Nodes the document may hold with its aliases expanded. Decoding follows aliases, so this bounds
 * its work; a real config expands to a few thousand, a "billion laughs" (aliases of aliases, as
 * nested merge keys `<<: [*prev, *prev, ...]`) to millions within a few hundred bytes. yaml.v3,
 * which blackbox uses, refuses such documents too ("excessive aliasing").
 */
export const MAX_EXPANDED_NODES = 1_000_000;

/** Refuses a document whose aliases expand past MAX_EXPANDED_NODES, naming the largest alias. */
function aliasBomb(doc: Document, ctx: Ctx): void {
  const sizes = new Map<unknown, number>();
  let worst: { alias: Node; size: number } | undefined;
  const size = (node: unknown): number => {
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let n = 1;
    if (isAlias(node)) {
      n = size(ctx.resolve(node));
      if (!worst || n > worst.size) worst = { alias: node as unknown as Node, size: n };
    } else if (isMap(node)) {
      for (const pair of node.items) n += size(pair.key) + size(pair.value);
    } else if (isSeq(node)) {
      for (const item of node.items) n += size(item);
    }
    // Memoized per node: the walk is linear in the document, whatever the aliases make of it.
    sizes.set(node, n);
    return n;
  };
  if (size(doc.contents) > MAX_EXPANDED_NODES && worst) {
    ctx.report(worst.alias, '(yaml)', `aliases expand the document to more than ${MAX_EXPANDED_NODES} nodes (*${(worst.alias as unknown as Alias).source} alone to ${worst.size})`);
  }
}

/** Parses and validates config text; `file` names it in messages. Throws ConfigError. */
export function loadConfigString(text: string, file: string): Config {
  try {
    return decodeConfig(text, file);
  } catch (err) {
    // The parser and the walks recurse: nesting thousands deep ends the stack, not the daemon.
    if (err instanceof RangeError && /call stack/.test(err.message)) {
      throw new ConfigError([{ file, path: '(yaml)', line: 1, column: 1, message: 'the document is nested too deeply' }]);
    }
    throw err;
  }
}

/**
 * Parses YAML text as every sonde file is parsed (merge keys, unique keys, no alias cycles or
 * bombs): the root node and the context that positions issues. Throws ConfigError.
 */
export function parseYaml(text: string, file: string): { ctx: Ctx; root: Node | null } {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) {
    throw new ConfigError([{ file, path: '(file)', line: 1, column: 1, message: `got ${bytes} bytes, expected at most ${MAX_CONFIG_BYTES} (8 MiB)` }]);
  }
  const lc = new LineCounter();
  // merge: YAML merge keys (<<: *base), which yaml.v3 and so blackbox accept.
  const doc = parseDocument(text, { lineCounter: lc, merge: true, prettyErrors: false, uniqueKeys: true });
  const ctx = new Ctx(file, lc, doc);
  for (const err of doc.errors) {
    const { line, col } = lc.linePos(err.pos[0]);
    ctx.issues.push({ file, path: '(yaml)', line, column: col, message: err.message });
  }
  if (ctx.issues.length === 0) aliasCycles(doc, ctx);
  if (ctx.issues.length === 0) aliasBomb(doc, ctx);
  if (ctx.issues.length > 0) throw new ConfigError(ctx.issues);
  return { ctx, root: ctx.resolve(doc.contents) };
}

/** Throws the issues the context collected, in file order, whatever order the checks ran in. */
export function throwIssues(ctx: Ctx): void {
  if (ctx.issues.length === 0) return;
  // The config file's issues first, then each targets file's, each file's in line order.
  const files = new Map<string, number>([[ctx.file, 0]]);
  for (const i of ctx.issues) if (!files.has(i.file)) files.set(i.file, files.size);
  ctx.issues.sort((a, b) => files.get(a.file)! - files.get(b.file)! || a.line - b.line || a.column - b.column);
  throw new ConfigError(ctx.issues);
}

function decodeConfig(text: string, file: string): Config {
  const { ctx, root } = parseYaml(text, file);
  const config: Config = { source: file, modules: new Map(), tasks: [] };
  if (!isNull(root) && !isMap(root)) {
    ctx.report(root, '(root)', `got ${shown(root)}, expected a mapping with modules: and tasks:`);
  } else if (root !== null && isMap(root)) {
    const top = entries(root, ctx);
    for (const e of top) {
      if (!TOP_KEYS.includes(e.key)) ctx.report(e.keyNode, e.key, `unknown key (expected one of: ${TOP_KEYS.join(', ')})`);
    }
    const infos = new Map<string, ModuleInfo>();
    const scanNode = top.find((e) => e.key === 'scan')?.value ?? null;
    if (!isNull(scanNode)) config.scan = scanDecoder(scanNode, 'scan', ctx);
    const scan = scanSettings(config);
    config.modules = decodeModules(top.find((e) => e.key === 'modules')?.value ?? null, ctx, infos);
    // tcp_syn probes check each resolved address against scan.allow: the list travels with the module.
    for (const m of config.modules.values()) if (m.tcp_syn) m.tcp_syn.scan_allow = [...scan.allow];
    const tenantsNode = top.find((e) => e.key === 'tenants')?.value ?? null;
    const tenants = tenantsDecoder(tenantsNode, 'tenants', ctx) ?? new Map();
    if (!isNull(tenantsNode)) config.tenants = tenants;
    const scheduler = top.find((e) => e.key === 'scheduler');
    if (scheduler && !isNull(scheduler.value)) config.scheduler = schedulerDecoder(scheduler.value, 'scheduler', ctx);
    const taskOpts = { scope: { scanAllow: scan.allow }, tenants, baseDir: configDir(file) };
    config.tasks = tasksDecoder(infos, taskOpts)(top.find((e) => e.key === 'tasks')?.value ?? null, 'tasks', ctx) ?? [];
    const policy = top.find((e) => e.key === 'probe_policy');
    if (policy) config.probe_policy = probePolicyDecoder(policy.value, 'probe_policy', ctx);
  }
  throwIssues(ctx);
  return config;
}

/** Reads, parses and validates a config file. Throws ConfigError, also when the file cannot be read. */
/** A config file's text; a file that cannot be read is a ConfigError naming why. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const detail = (e as Error).message.replace(/, \w+ '.*'$/s, '');
    throw new ConfigError([{ file, path: '(file)', line: 1, column: 1, message: `cannot read the file: ${detail}` }]);
  }
}

export function loadConfigFile(file: string): Config {
  const config = loadConfigString(readConfigText(file), file);
  config.source = resolvePath(file);
  return config;
}
