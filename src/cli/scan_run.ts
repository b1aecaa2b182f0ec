// One `sonde scan` run on a SYN engine: rows streamed to stdout as the engine hands hits over (open
// ports through --then first when asked), a progress line on stderr, and at the end the table, the
// -oG file and the summary. The engine is a parameter, so tests drive this with a fake one.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ScanHit, ScanSummary, SynEngine } from '../native/syn_types';
import type { FlowRegistry } from '../probers/types';
import type { Runtime } from '../runtime';
import { VERSION } from '../version';
import { writeAll } from './output';
import { Progress } from './progress';
import type { ScanArgs } from './scan_args';
import { ScanOutput, progressText, summaryText, type ScanRow } from './scan_output';
import type { ScanPlan } from './scan_plan';
import { ThenRunner } from './scan_then';

export interface ScanIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WriteStream;
  runtime: Runtime;
  flows?: FlowRegistry;
  /** the command line, for the -oG header */
  command: string;
  /** aborted on SIGINT/SIGTERM: the run ends early, with its summary */
  signal?: AbortSignal;
}

/** Writes in order with backpressure, from synchronous callbacks (the engine's onHits). */
class SerialWriter {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly before?: () => void,
  ) {}

  write(text: string): void {
    if (text === '') return;
    this.chain = this.chain.then(() => {
      this.before?.();
      return writeAll(this.stream, text);
    });
  }

  flushed(): Promise<void> {
    return this.chain;
  }
}

export interface ScanRunResult {
  summary: ScanSummary;
  interrupted: boolean;
}

export async function runScan(engine: SynEngine, plan: ScanPlan, args: ScanArgs, io: ScanIO): Promise<ScanRunResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const grepToStdout = args.grepable === '-';
  const output = new ScanOutput({ format: args.format, grepable: args.grepable !== undefined, then: plan.then !== undefined });
  let progress: Progress | undefined;
  // On one terminal, the progress line is erased before a row is printed under it.
  const sameTerminal = io.stdout.isTTY === true && io.stderr.isTTY === true;
  const out = new SerialWriter(io.stdout, sameTerminal ? () => progress?.clear() : undefined);
  const then = plan.then ? new ThenRunner(plan.then, io.runtime, { parallel: args.thenParallel, timeoutSeconds: args.thenTimeout ?? (plan.then.timeout > 0 ? plan.then.timeout : 5), flows: io.flows }) : undefined;
  const emit = (rows: ScanRow[]): void => out.write(output.rows(rows));
  const handle = engine.scan(plan.spec, {
    onHits(hits: readonly ScanHit[]) {
      if (!then) return emit(hits.map((hit) => ({ hit })));
      const rest: ScanRow[] = [];
      for (const hit of hits) {
        if (hit.state === 'open') then.submit(hit, (r) => emit([{ hit, then: r }]));
        else rest.push({ hit });
      }
      if (rest.length) emit(rest);
    },
  });
  // After scan() returned: a spec the engine refuses leaves stdout empty. Hits come on later ticks.
  out.write(output.head());
  let interrupted = false;
  const stop = (): void => {
    interrupted = true;
    handle.stop();
    then?.cancel();
  };
  if (io.signal?.aborted) stop();
  io.signal?.addEventListener('abort', stop, { once: true });
  if (io.stderr.isTTY || args.progress) progress = new Progress(io.stderr, () => progressText(handle.progress(), (performance.now() - t0) / 1000, args.rate));
  let summary: ScanSummary;
  try {
    summary = await handle.done;
    await then?.drained();
  } finally {
    io.signal?.removeEventListener('abort', stop);
    progress?.stop();
  }
  out.write(output.tail(summary, plan.targets.addresses));
  if (args.grepable !== undefined) {
    const text = output.grepable(summary, plan.targets.addresses, io.command, startedAt, VERSION);
    if (grepToStdout) out.write(text);
    else writeFileSync(args.grepable, text);
  }
  await out.flushed();
  if (args.format !== 'human') await writeAll(io.stderr, `${summaryText(summary, plan.targets.addresses)}\n`);
  return { summary, interrupted };
}
