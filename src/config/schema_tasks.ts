// The `tasks:` section (sonde only): continuous probes of a list of targets with one module.
//   tasks:
//     - name: web              # [a-zA-Z_][a-zA-Z0-9_:-]*, unique
//       module: http_2xx       # a key of modules:
//       targets: [https://example.org/]
//       interval: 15s          # timeout, jitter, thresholds, labels, max_target_series: see docs/config.md
import { QOS_CLASSES, type Task, type Tenant } from './types';
import { DEFAULT_SCAN_ALLOW, defaultTaskTimeout, TASK_DEFAULTS } from './defaults';
import { formatDuration } from './duration';
import { bool, duration, int, isNull, list, oneOf, record, reservedName, reservedNameExpected, shown, str, struct, type Ctx, type Decoder, type Fields } from './schema';
import { file } from './schema_shared';
import { breakerDecoder, tenantExpected } from './schema_tenants';
import { checkTaskTargets } from './task_targets';
import { labelNameProblem } from './label_names';
import { proberFor, RUNNABLE_PROBERS, type RunnableProber } from '../probers/index';
import type { TargetCheckScope } from '../probers/descriptor';

/** Probers a task may use in this version (the registry's); modules: may name any blackbox prober. */
export const AVAILABLE_PROBERS: readonly RunnableProber[] = RUNNABLE_PROBERS;

export { RESERVED_LABELS } from './label_names';

export const TASK_NAME = /^[a-zA-Z_][a-zA-Z0-9_:-]*$/;

/** What a task needs to know of a module, even of one that failed validation. */
export interface ModuleInfo {
  prober?: string;
  timeout: number;
  /** why the module cannot run (refusals.ts), or undefined */
  refusal?: string;
}

const labels = record(str(), (key, keyNode, path, ctx) => {
  const problem = labelNameProblem(key);
  if (problem !== undefined) ctx.report(keyNode, path, `got ${JSON.stringify(key)}, expected ${problem}`);
  return problem === undefined;
});

function checkTask(t: Task, f: Fields, ctx: Ctx, modules: Map<string, ModuleInfo>, names: Map<string, string>, opts: TaskContext): boolean {
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
  if (t.tenant !== undefined && !opts.tenants.has(t.tenant)) at('tenant', tenantExpected(opts.tenants));
  if (!f.set.has('targets') && !f.set.has('targets_files')) {
    const { path, node } = f.at('targets');
    ctx.report(node, path, 'missing required key (a task needs targets, targets_files or both)');
    return false;
  }
  return checkTaskTargets(t, mod?.prober, f, ctx, opts.scope, opts.baseDir) && ok;
}

/** What a task is checked against besides the modules. */
export interface TaskContext {
  /** scan.allow, for the targets of tcp_syn tasks */
  scope: TargetCheckScope;
  /** `tenants:` (a task's tenant must be one) */
  tenants: ReadonlyMap<string, Tenant>;
  /** the folder relative targets_files names start from (the config file's) */
  baseDir: string;
}

/** The keys of one task and their decoders (the file's tasks: and PUT /api/v1/tasks alike). */
export function taskDecoder(modules: Map<string, ModuleInfo>, ctxOpts: Partial<TaskContext> = {}, names = new Map<string, string>()): Decoder<Task> {
  const opts: TaskContext = { scope: { scanAllow: DEFAULT_SCAN_ALLOW }, tenants: new Map(), baseDir: process.cwd(), ...ctxOpts };
  return struct<Task>({
    fields: {
      name: str({
        pattern: TASK_NAME,
        expected: 'a task name matching [a-zA-Z_][a-zA-Z0-9_:-]*',
        check: (name) => (reservedName(name) ? reservedNameExpected('task') : undefined),
      }),
      module: str({ nonEmpty: true, expected: 'a module name' }),
      targets: list(str({ nonEmpty: true, expected: 'a non-empty target string' }), { nonEmpty: true }),
      targets_files: list(file, { nonEmpty: true }),
      interval: duration({ positive: true }),
      timeout: duration({ positive: true }),
      jitter: duration(),
      success_threshold: int(1, 1_000_000),
      failure_threshold: int(1, 1_000_000),
      labels,
      max_target_series: int(1),
      tenant: str({ nonEmpty: true, expected: 'a tenant name' }),
      qos: oneOf(QOS_CLASSES),
      paused: bool(),
      max_concurrency: int(1),
      breaker: breakerDecoder,
    },
    defaults: () => ({ name: '', module: '', targets: [], timeout: 0, labels: {}, ...TASK_DEFAULTS }),
    required: ['name', 'module'],
    check: (t, f, ctx) => checkTask(t, f, ctx, modules, names, opts),
  });
}

/** Decodes `tasks:`, checking module references against `modules` (name → prober, timeout). */
export function tasksDecoder(modules: Map<string, ModuleInfo>, opts: Partial<TaskContext> = {}): Decoder<Task[]> {
  const all = list(taskDecoder(modules, opts));
  return (node, path, ctx) => (isNull(node) ? [] : all(node, path, ctx));
}
