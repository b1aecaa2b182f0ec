// `npm run bench -- [FLAGS] [SCENARIO...]`: which scenarios run, how big, where the report goes.
// Unknown flags and scenario names are refused with the list of what is known.
import { parseArgs, UsageError, type FlagSpec } from '../../src/cli/args';

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

export { UsageError as BenchUsageError };

export interface BenchArgs {
  quick: boolean;
  /** scenario names in the order they are defined */
  selected: string[];
  outDir?: string;
  report: boolean;
  help: boolean;
}

const SPEC: Record<string, FlagSpec> = {
  quick: { value: false },
  only: { value: true },
  out: { value: true },
  'no-report': { value: false },
  help: { value: false, aliases: ['-h'] },
};

/**
 * `known`: every scenario name in run order; `onRequest`: those left out unless named.
 * Throws UsageError (src/cli/args.ts: the CLI's parser, so the messages are the same).
 */
export function parseBenchArgs(argv: readonly string[], known: readonly string[], onRequest: readonly string[] = []): BenchArgs {
  let p;
  try {
    p = parseArgs([...argv], SPEC);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${err.message}\n${BENCH_USAGE}`);
    throw err;
  }
  const named = [...(p.lists.only ?? []), ...p.positional];
  for (const n of named) {
    if (n === '') throw new UsageError('--only needs a scenario name');
    if (!known.includes(n)) throw new UsageError(`unknown scenario ${n}; known: ${known.join(', ')}`);
  }
  return {
    quick: p.flags.quick === true,
    report: p.flags['no-report'] !== true,
    help: p.flags.help === true,
    outDir: typeof p.flags.out === 'string' ? p.flags.out : undefined,
    selected: named.length > 0 ? known.filter((n) => named.includes(n)) : known.filter((n) => !onRequest.includes(n)),
  };
}
