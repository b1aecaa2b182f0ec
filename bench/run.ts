// `npm run bench [-- FLAGS] [SCENARIO...]` (bench/lib/args.ts): runs each scenario with its peers in
// the same run, prints one line per figure (median, spread, ratio to the peer) on stdout, shows
// progress on stderr, and writes bench/results/<timestamp>.json and .md (with SVG plots beside it).
// Every load is bounded in time.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs } from './lib/args';
import { normalize } from './lib/figures';
import { hostFacts } from './lib/host';
import { BenchProgress } from './lib/progress';
import { renderReport, type BenchRun, type ScenarioRun } from './lib/report_md';
import { loadScenarios, type ScenarioContext } from './scenarios';

/** 2026-12-02T05-04-09Z: sorts by time, no characters a file system or a shell minds. */
export function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

function runsFromEnv(quick: boolean): number {
  const v = process.env.BENCH_RUNS;
  if (v === undefined || v === '') return quick ? 1 : 3;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new BenchUsageError(`BENCH_RUNS=${v}: expected a whole number of runs, at least 1`);
  return n;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const scenarios = loadScenarios();
  const args = parseBenchArgs(argv, scenarios.map((s) => s.name), scenarios.filter((s) => s.onRequest).map((s) => s.name));
  if (args.help) {
    process.stdout.write(`${BENCH_USAGE}\nscenarios: ${scenarios.map((s) => s.name + (s.onRequest ? ' (on request)' : '')).join(', ')}\n`);
    return 0;
  }
  const runs = runsFromEnv(args.quick);
  const started = new Date();
  const host = await hostFacts();
  const progress = new BenchProgress(args.selected.length);
  const results: ScenarioRun[] = [];
  let failed = 0;
  try {
    for (const [i, name] of args.selected.entries()) {
      const s = scenarios.find((x) => x.name === name)!;
      progress.begin(i, name);
      const ctx: ScenarioContext = { quick: args.quick, runs, progress: progress.tick };
      const t0 = performance.now();
      let r: ScenarioRun;
      try {
        r = { name, ...normalize(await s.run(ctx)), seconds: (performance.now() - t0) / 1000 };
      } catch (err) {
        // One broken scenario does not lose the others' figures; the exit status says so.
        failed++;
        r = { name, lines: [`${name}: FAILED: ${(err as Error).stack ?? String(err)}`], figures: [], series: [], seconds: (performance.now() - t0) / 1000, error: (err as Error).message };
      }
      results.push(r);
      progress.clear();
      process.stdout.write(`== ${name}\n${r.lines.map((l) => `${l}\n`).join('')}`);
    }
  } finally {
    progress.stop();
  }
  const run: BenchRun = { started: started.toISOString(), seconds: (Date.now() - started.getTime()) / 1000, quick: args.quick, argv, host, scenarios: results };
  if (args.report) {
    const dir = path.resolve(args.outDir ?? path.join(__dirname, '..', '..', 'bench', 'results'));
    const base = stamp(started);
    mkdirSync(path.join(dir, base), { recursive: true });
    const rendered = renderReport(run, base);
    for (const f of rendered.svgs) writeFileSync(path.join(dir, f.file), f.svg);
    writeFileSync(path.join(dir, `${base}.json`), `${JSON.stringify(run, null, 1)}\n`);
    writeFileSync(path.join(dir, `${base}.md`), rendered.markdown);
    process.stderr.write(`bench: ${fmtSeconds(run.seconds)} in all; wrote ${path.join(dir, `${base}.json`)} and ${base}.md (plots in ${base}/)\n`);
  }
  return failed > 0 ? 1 : 0;
}

function fmtSeconds(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      if (err instanceof BenchUsageError) {
        process.stderr.write(`bench: ${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
