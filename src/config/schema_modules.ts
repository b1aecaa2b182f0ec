// The `modules:` section: blackbox_exporter's module format, key for key (CONFIGURATION.md of
// blackbox 0.23 and later), plus sonde's own options. A module is `prober`, `timeout` and one
// section per prober; each section's decoder is its prober's (src/probers/<name>/config.ts), taken
// from the registry, so a new prober's section needs no line here.
import type { Module, ModuleSections } from './types';
import { MODULE_TIMEOUT_DEFAULT } from './defaults';
import { duration, oneOf, struct, type Decoder } from './schema';
import { moduleSection, PROBER_NAMES } from '../probers/index';

type ModuleBody = Omit<Module, 'name'>;

const sections = PROBER_NAMES.map((p) => [p, moduleSection(p)] as const);

const moduleBody = struct<ModuleBody>({
  fields: {
    prober: oneOf(PROBER_NAMES),
    timeout: duration(),
    ...Object.fromEntries(sections.map(([p, s]) => [p, s.decode])),
  },
  defaults: () => ({
    prober: 'http',
    timeout: MODULE_TIMEOUT_DEFAULT,
    ...(Object.fromEntries(sections.map(([p, s]) => [p, s.defaults()])) as Omit<ModuleSections, 'trace' | 'tcp_syn'>),
  }),
  required: ['prober'],
  check: (m, f, ctx) => {
    const needs = moduleSection(m.prober).required;
    if (needs === undefined || f.set.has(m.prober)) return true;
    const { path, node } = f.at(m.prober);
    ctx.report(node, path, `missing required key (${needs})`);
    return false;
  },
});

/** One module; `name` is its key under `modules:`. */
export function moduleDecoder(name: string): Decoder<Module> {
  return (node, path, ctx) => {
    const body = moduleBody(node, path, ctx);
    return body && { name, ...body };
  };
}
