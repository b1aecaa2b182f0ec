// `npm run bench -- [FLAGS] [SCENARIO...]`: which scenarios run, how big, where the report goes.
// Unknown flags and scenario names are refused with the list of what is known.

export const BENCH_USAGE = `usage: npm run bench -- [--quick] [--only SCENARIO]... [--out DIR] [SCENARIO...]
  --quick          a small version of every scenario (one run each, small counts): checks the bench
                   works end to end in a few minutes; its figures are not for publishing
  --only SCENARIO  run this scenario (repeatable; the same as naming it as an argument)
  --out DIR        where the JSON and Markdown reports go (default bench/results)
  --no-report      print the lines only, write no files
  --help           this text
Without scenario names every scenario runs except those run on request only (soak).
Environment: BENCH_RUNS (runs per figure; default 3, 1 with --quick), and each scenario's own
(BENCH_SECONDS, BENCH_ICMP_PROBES, BENCH_COUNT, BENCH_SYN_RATE, BENCH_SOAK_SECONDS, ...).`;

export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';
}

export interface BenchArgs {
  quick: boolean;
  /** scenario names in the order they are defined */
  selected: string[];
  outDir?: string;
  report: boolean;
  help: boolean;
}

/**
 * `known`: every scenario name in run order; `onRequest`: those left out unless named.
 */
export function parseBenchArgs(argv: readonly string[], known: readonly string[], onRequest: readonly string[] = []): BenchArgs {
  const named: string[] = [];
  const out: BenchArgs = { quick: false, selected: [], report: true, help: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new BenchUsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const take = (): string => {
      if (inline !== undefined) {
        if (inline === '') throw new BenchUsageError(`${flag} needs a value`);
        return inline;
      }
      return value(i++, flag);
    };
    if (flag === '--quick' && inline === undefined) out.quick = true;
    else if (flag === '--no-report' && inline === undefined) out.report = false;
    else if ((flag === '--help' || flag === '-h') && inline === undefined) out.help = true;
    else if (flag === '--only') named.push(take());
    else if (flag === '--out') out.outDir = take();
    else if (a.startsWith('-')) throw new BenchUsageError(`unknown flag ${a}\n${BENCH_USAGE}`);
    else named.push(a);
  }
  for (const n of named) {
    if (!known.includes(n)) throw new BenchUsageError(`unknown scenario ${n}; known: ${known.join(', ')}`);
  }
  out.selected = named.length > 0 ? known.filter((n) => named.includes(n)) : known.filter((n) => !onRequest.includes(n));
  return out;
}
