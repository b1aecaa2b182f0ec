// The `tenants:` and `scheduler:` sections and a task's `breaker:` (sonde only, issue 11): the bounds
// the scheduler enforces at run time (src/schedule). Decoding only: what the numbers do is there.
//   tenants:                     # a list of {name, ...} or a mapping of names to {...}
//     - name: team_a
//       max_concurrency: 100     # probes in flight at once; absent: unbounded
//       max_probes_per_second: 500
//   scheduler: {max_in_flight: 4096, max_per_host: 64, shed_queue: 100000, shed_lag: 200ms,
//               engine_best_effort_share: 0.5, engine_standard_share: 0.8, engine_queue_bound: 8192}
import { isMap, isScalar, isSeq } from 'yaml';
import type { BreakerSettings, SchedulerSettings, Tenant } from './types';
import { SCHEDULER_DEFAULTS } from './defaults';
import { childPath, duration, entries, indexPath, int, isNull, reservedName, reservedNameExpected, shown, str, struct, type Ctx, type Decoder } from './schema';

/** Tenant names as task names: they become label values and map keys. */
export const TENANT_NAME = /^[a-zA-Z_][a-zA-Z0-9_:-]*$/;

const tenantName = str({
  pattern: TENANT_NAME,
  expected: 'a tenant name matching [a-zA-Z_][a-zA-Z0-9_:-]*',
  check: (name) => (reservedName(name) ? reservedNameExpected('tenant') : undefined),
});

/** The bounds of one tenant; `name` comes from the list item or the mapping key. */
const tenantFields = {
  max_concurrency: int(1),
  max_probes_per_second: int(1),
};

const unbounded = (): Tenant => ({ name: '', max_concurrency: Number.POSITIVE_INFINITY, max_probes_per_second: Number.POSITIVE_INFINITY });
const tenantInList = struct<Tenant>({ fields: { name: tenantName, ...tenantFields }, defaults: unbounded, required: ['name'] });
const tenantInMap = struct<Tenant>({ fields: tenantFields, defaults: unbounded });

/** `tenants:` as a list of {name, ...} or a mapping name → {...}; a name given twice is refused. */
export const tenantsDecoder: Decoder<Map<string, Tenant>> = (node, path, ctx) => {
  const out = new Map<string, Tenant>();
  if (isNull(node)) return out;
  const add = (t: Tenant | undefined, at: string, nameNode: Parameters<Ctx['report']>[0]): void => {
    if (t === undefined) return;
    if (out.has(t.name)) ctx.report(nameNode, at, `got ${JSON.stringify(t.name)}, expected a unique tenant name`);
    else out.set(t.name, t);
  };
  if (isSeq(node)) {
    node.items.forEach((raw, i) => {
      const item = ctx.resolve(raw);
      const t = tenantInList(item, indexPath(path, i), ctx);
      const nameNode = isMap(item) ? (entries(item, ctx).find((e) => e.key === 'name')?.value ?? item) : item;
      add(t, childPath(indexPath(path, i), 'name'), nameNode);
    });
    return out;
  }
  if (isMap(node)) {
    for (const e of entries(node, ctx)) {
      const p = childPath(path, e.key);
      if (tenantName(e.keyNode, p, ctx) === undefined) continue;
      const t = tenantInMap(e.value, p, ctx);
      if (t) add({ ...t, name: e.key }, p, e.keyNode);
    }
    return out;
  }
  ctx.report(node, path, `got ${shown(node)}, expected a list of tenants or a mapping of tenant names to tenants`);
  return out;
};

/** A share of an engine's slots: a number above 0 and at most 1. */
const share: Decoder<number> = (node, path, ctx) => {
  if (isNull(node)) return undefined;
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v !== 'number' || !(v > 0 && v <= 1)) {
    ctx.report(node, path, `got ${shown(node)}, expected a number above 0 and at most 1 (a share of an engine's slots)`);
    return undefined;
  }
  return v;
};

export const schedulerDecoder = struct<SchedulerSettings>({
  fields: {
    max_in_flight: int(1),
    max_per_host: int(1),
    shed_queue: int(1),
    shed_lag: duration({ positive: true }),
    engine_best_effort_share: share,
    engine_standard_share: share,
    engine_queue_bound: int(0, 1 << 24),
  },
  defaults: () => ({
    max_in_flight: SCHEDULER_DEFAULTS.max_in_flight,
    max_per_host: SCHEDULER_DEFAULTS.max_per_host,
    shed_queue: SCHEDULER_DEFAULTS.shed_queue,
    shed_lag: SCHEDULER_DEFAULTS.shed_lag,
    engine_best_effort_share: SCHEDULER_DEFAULTS.engine_best_effort_share,
    engine_standard_share: SCHEDULER_DEFAULTS.engine_standard_share,
    engine_queue_bound: SCHEDULER_DEFAULTS.engine_queue_bound,
  }),
  // Nested shares: best_effort's slots count in standard's too.
  check: (s, f, ctx) => {
    if (s.engine_best_effort_share <= s.engine_standard_share) return true;
    const at = f.set.has('engine_best_effort_share') ? f.at('engine_best_effort_share') : f.at('engine_standard_share');
    ctx.report(at.node, at.path, `got engine_best_effort_share ${s.engine_best_effort_share} above engine_standard_share ${s.engine_standard_share}, expected at most it (best_effort's slots count in standard's)`);
    return false;
  },
});

export const breakerDecoder = struct<BreakerSettings>({
  fields: { failures: int(0, 1_000_000), cooldown: duration({ positive: true }) },
  defaults: () => ({ ...SCHEDULER_DEFAULTS.breaker }),
});

/** The message of a task naming a tenant that `tenants:` does not define. */
export function tenantExpected(tenants: ReadonlyMap<string, Tenant>): string {
  const known = [...tenants.keys()];
  return `one of the tenants: ${known.length > 0 ? known.join(', ') : '(none defined in tenants:)'}`;
}
