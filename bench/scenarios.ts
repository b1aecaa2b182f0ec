// The bench's scenarios in run order, each one function of the run's context returning its lines
// and figures (bench/lib/figures.ts), with its full and --quick sizes. Scenario files written
// elsewhere (sched_scale, workers) join when they exist: they export `scenario` (the frame's
// form) or a function returning lines or figures.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { dnsRate } from './dns_rate';
import { ebpfOverhead } from './ebpf_overhead';
import type { ScenarioContext, ScenarioFn, ScenarioOutput } from './lib/figures';
import { icmpRate } from './icmp_rate';
import { probeCount } from './probe_count';
import { probeRate } from './probe_rate';
import { soak } from './soak';
import { synRate } from './syn_rate';

export interface Scenario {
  name: string;
  run: ScenarioFn;
  /** left out unless named (soak: an hour) */
  onRequest?: boolean;
}

/** An environment number, or the full or quick default. */
function env(name: string, full: number, quick: number, ctx: ScenarioContext): number {
  const v = process.env[name];
  if (v === undefined || v === '') return ctx.quick ? quick : full;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name}=${v}: expected a positive number`);
  return n;
}

const BUILT_IN: Scenario[] = [
  { name: 'probe_rate', run: (c) => probeRate({ runs: c.runs, seconds: env('BENCH_SECONDS', 5, 1, c), concurrency: 64, progress: c.progress }) },
  { name: 'probe_count', run: (c) => probeCount({ runs: c.runs, count: env('BENCH_COUNT', 100_000, 2_000, c), concurrency: 64, progress: c.progress }) },
  { name: 'dns_rate', run: (c) => dnsRate({ runs: c.runs, seconds: env('BENCH_SECONDS', 5, 1, c), udpCount: env('BENCH_DNS_COUNT', 100_000, 2_000, c), concurrency: 64, progress: c.progress }) },
  {
    name: 'icmp_rate',
    run: (c) =>
      icmpRate({ runs: c.runs, probes: env('BENCH_ICMP_PROBES', 1_000_000, 50_000, c), targets: 250, bestFormCount: env('BENCH_FPING_COUNT', 250, 50, c), progress: c.progress }),
  },
  {
    name: 'ebpf_overhead',
    run: (c) =>
      ebpfOverhead({
        runs: Math.max(c.quick ? 2 : 3, c.runs),
        icmpProbes: env('BENCH_EBPF_ICMP_PROBES', 50_000, 5_000, c),
        tcpSeconds: env('BENCH_SECONDS', 3, 1, c),
        concurrency: 128,
        xdpEvents: process.env.BENCH_XDP_EVENTS === '1',
        progress: c.progress,
      }),
  },
  { name: 'syn_rate', run: (c) => synRate({ runs: c.runs, rate: env('BENCH_SYN_RATE', 3_000_000, 3_000_000, c), addrs: c.quick ? 2048 : 32768, progress: c.progress }) },
  { name: 'soak', onRequest: true, run: (c) => soak({ seconds: env('BENCH_SOAK_SECONDS', 3600, 60, c), floodRate: env('BENCH_SOAK_FLOOD_RATE', 300, 100, c) }) },
];

/**
 * Files from other work that join the bench when they land (file name = scenario name), in the
 * frame's form (`scenario(ctx)`), or through a call that maps the context onto the options of the
 * function they export today.
 */
type Loaded = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the options of a function written elsewhere
type Entry = (opts: any) => Promise<ScenarioOutput>;

/** Entry points of today's files and how the context maps onto their options. */
const OPTIONAL: Record<string, { entry: string; call: (fn: Entry, ctx: ScenarioContext) => Promise<ScenarioOutput> }> = {
  // The context, plus the sizes of sched_child.ts's measurements (targets, seconds) for an options-style entry.
  sched_scale: {
    entry: 'schedScale',
    call: (fn, c) => fn({ ...c, targets: env('BENCH_SCHED_TARGETS', 1_000_000, 100_000, c), seconds: env('BENCH_SCHED_SECONDS', 20, 5, c) }),
  },
  workers: {
    entry: 'workersBench',
    call: (fn, c) => fn({ runs: c.runs, seconds: env('BENCH_SECONDS', 5, 1, c), concurrency: env('BENCH_WORKERS_CONCURRENCY', 64, 64, c), workers: [0, 1, 2], progress: c.progress }),
  },
  idle_rss: { entry: 'idleRSS', call: (fn, c) => fn({ runs: Math.max(c.quick ? 1 : 3, c.runs), long: !c.quick, progress: c.progress }) },
};
// After the built-in ones they follow: sched_scale's million targets before the soak's hour.
const ORDER = ['probe_rate', 'probe_count', 'dns_rate', 'icmp_rate', 'ebpf_overhead', 'syn_rate', 'sched_scale', 'workers', 'idle_rss', 'soak'];

/**
 * The scenario function of a module: `scenario` (a ScenarioFn) or the default export, else its one
 * exported function; it gets the context, which also carries `runs` and `quick` for older shapes.
 */
export function scenarioFromModule(name: string, mod: Loaded): ScenarioFn {
  const fns = Object.entries(mod).filter(([k, v]) => typeof v === 'function' && k !== '__esModule');
  const pick = (mod.scenario ?? mod.default ?? (fns.length === 1 ? fns[0][1] : undefined)) as ScenarioFn | { run?: ScenarioFn } | undefined;
  if (typeof pick === 'function') return pick;
  if (pick && typeof pick.run === 'function') return pick.run;
  throw new Error(`bench/${name}.ts exports no scenario: export \`scenario(ctx)\` returning {lines, figures} or string[] (found ${fns.map(([k]) => k).join(', ') || 'no function'})`);
}

export type { ScenarioContext, ScenarioFn };

const load = createRequire(__filename);

export function loadScenarios(dir = __dirname): Scenario[] {
  const all = [...BUILT_IN];
  for (const [name, { entry, call }] of Object.entries(OPTIONAL)) {
    const file = path.join(dir, `${name}.js`);
    if (!existsSync(file)) continue;
    // require, not import(): these are CommonJS files, whose import() namespace has a `default` (module.exports).
    const mod = load(file) as Loaded;
    const fn = mod[entry];
    // The frame's form first; a bad module fails here, before any scenario runs.
    if (mod.scenario !== undefined || mod.default !== undefined || typeof fn !== 'function') all.push({ name, run: scenarioFromModule(name, mod) });
    else all.push({ name, run: (ctx) => call(fn as Entry, ctx) });
  }
  return all.sort((a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name));
}
