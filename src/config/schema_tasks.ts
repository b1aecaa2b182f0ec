// The `tasks:` section (sonde only): continuous probes of a list of targets with one module.
//   tasks:
//     - name: web              # [a-zA-Z_][a-zA-Z0-9_:-]*, unique
//       module: http_2xx       # a key of modules:
//       targets: [https://example.org/]
//       interval: 15s          # timeout, jitter, thresholds, labels, max_target_series: see docs/config.md
import { isSeq } from 'yaml';
import type { Task } from './types';
import { DEFAULT_SCAN_ALLOW, defaultTaskTimeout, TASK_DEFAULTS } from './defaults';
import { formatDuration } from './duration';
import { duration, indexPath, int, isNull, list, record, reservedName, reservedNameExpected, shown, str, struct, type Ctx, type Decoder, type Fields } from './schema';
import { LABEL_NAME } from './schema_values';
import { proberFor, RUNNABLE_PROBERS, type RunnableProber } from '../probers/index';
import type { TargetCheckScope } from '../probers/descriptor';

/** Probers a task may use in this version (the registry's); modules: may name any blackbox prober. */
export const AVAILABLE_PROBERS: readonly RunnableProber[] = RUNNABLE_PROBERS;

/**
 * Label names sonde itself puts on task series (a task label of the same name would repeat it):
 * test/outputs/metrics.test.ts checks every per-task series' label names are here.
 */
export const RESERVED_LABELS = ['task', 'target', 'module', 'reason', 'phase', 'result', 'kind', 'verdict', 'direction', 'le', 'port', 'state', 'from', 'to', 'qos'] as const;

export const TASK_NAME = /^[a-zA-Z_][a-zA-Z0-9_:-]*$/;

/** What a task needs to know of a module, even of one that failed validation. */
export interface ModuleInfo {
  prober?: string;
  timeout: number;
  /** why the module cannot run (refusals.ts), or undefined */
  refusal?: string;
}

const labels = record(str(), (key, keyNode, path, ctx) => {
  if (!LABEL_NAME.test(key) || key.startsWith('__')) {
    // Prometheus reserves names starting with "__" for internal use.
    ctx.report(keyNode, path, `got ${JSON.stringify(key)}, expected a Prometheus label name matching [a-zA-Z_][a-zA-Z0-9_]* not starting with __`);
    return false;
  }
  if ((RESERVED_LABELS as readonly string[]).includes(key)) {
    ctx.report(keyNode, path, `got ${JSON.stringify(key)}, expected a label name other than ${RESERVED_LABELS.join(', ')} (sonde sets them)`);
    return false;
  }
  return true;
});

function checkTargets(task: Task, prober: string | undefined, f: Fields, ctx: Ctx, scope: TargetCheckScope): boolean {
  const { path, node } = f.at('targets');
  if (!isSeq(node)) return true;
  const check = prober === undefined ? undefined : proberFor(prober)?.checkTarget;
  const first = new Map<string, number>();
  let ok = true;
  node.items.forEach((raw, i) => {
    const item = ctx.resolve(raw);
    const t = task.targets[i];
    const p = indexPath(path, i);
    const seenAt = first.get(t);
    if (seenAt !== undefined) {
      ctx.report(item, p, `got ${shown(item)}, expected a target not listed before (same as targets[${seenAt}])`);
      ok = false;
      return;
    }
    first.set(t, i);
    const problem = check?.(t, scope);
    if (problem !== undefined) {
      ctx.report(item, p, `got ${shown(item)}, expected ${problem} for a ${prober} module`);
      ok = false;
    }
  });
  return ok;
}

function checkTask(t: Task, f: Fields, ctx: Ctx, modules: Map<string, ModuleInfo>, names: Map<string, string>, scope: TargetCheckScope): boolean {
  let ok = true;
  const at = (key: string, expected: string): void => {
    const { path, node } = f.at(key);
    ctx.report(node, path, `got ${shown(node)}, expected ${expected}`);
    ok = false;
  };
  const other = names.get(t.name);
  if (other !== undefined) at('name', `a unique task name (${other} has it too)`);
  else names.set(t.name, f.at('name').path.replace(/\.name$/, ''));

  const mod = modules.get(t.module);
  if (mod === undefined) {
    const known = [...modules.keys()];
    at('module', `one of the modules: ${known.length > 0 ? known.join(', ') : '(none defined)'}`);
  } else if (mod.prober !== undefined && proberFor(mod.prober) === undefined) {
    const { path, node } = f.at('module');
    ctx.report(node, path, `prober ${mod.prober} is not available yet in this version of sonde`);
    ok = false;
  } else if (mod.refusal !== undefined) {
    const { path, node } = f.at('module');
    ctx.report(node, path, `module ${t.module} cannot run: modules.${t.module}.${mod.refusal}`);
    ok = false;
  }

  const interval = `interval (${formatDuration(t.interval)})`;
  if (f.set.has('timeout')) {
    if (t.timeout > t.interval) at('timeout', `a duration no longer than ${interval}`);
    if (t.timeout <= 0) at('timeout', 'a duration greater than 0s');
  } else {
    t.timeout = defaultTaskTimeout(mod?.timeout ?? 0, t.interval);
  }
  if (t.jitter > t.interval) at('jitter', `a duration no longer than ${interval}`);
  return checkTargets(t, mod?.prober, f, ctx, scope) && ok;
}

/** Decodes `tasks:`, checking module references against `modules` (name → prober, timeout). */
export function tasksDecoder(modules: Map<string, ModuleInfo>, scope: TargetCheckScope = { scanAllow: DEFAULT_SCAN_ALLOW }): Decoder<Task[]> {
  const names = new Map<string, string>();
  const task = struct<Task>({
    fields: {
      name: str({
        pattern: TASK_NAME,
        expected: 'a task name matching [a-zA-Z_][a-zA-Z0-9_:-]*',
        check: (name) => (reservedName(name) ? reservedNameExpected('task') : undefined),
      }),
      module: str({ nonEmpty: true, expected: 'a module name' }),
      targets: list(str({ nonEmpty: true, expected: 'a non-empty target string' }), { nonEmpty: true }),
      interval: duration({ positive: true }),
      timeout: duration({ positive: true }),
      jitter: duration(),
      success_threshold: int(1, 1_000_000),
      failure_threshold: int(1, 1_000_000),
      labels,
      max_target_series: int(1),
    },
    defaults: () => ({ name: '', module: '', targets: [], timeout: 0, labels: {}, ...TASK_DEFAULTS }),
    required: ['name', 'module', 'targets'],
    check: (t, f, ctx) => checkTask(t, f, ctx, modules, names, scope),
  });
  const all = list(task);
  return (node, path, ctx) => (isNull(node) ? [] : all(node, path, ctx));
}
