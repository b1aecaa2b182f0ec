// One `sonde scan` run on a SYN engine: rows streamed to stdout as the engine hands hits over (open
// ports through --then first when asked), a progress line on stderr, and at the end the table, the
// -oG file and the summary. The engine is a parameter, so tests drive this with a fake one.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { synSourcePorts } from '../native/syn_flows';
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
  /** --explain: the drop tracer's registry, which watches the scan's source ports */
  explainer?: Required<Pick<FlowRegistry, 'watchScanPorts' | 'explainSilent'>>;
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
  const output = new ScanOutput({ format: args.format, grepable: args.grepable !== undefined, then: plan.then !== undefined, explain: io.explainer !== undefined });
  let progress: Progress | undefined;
  // On one terminal, the progress line is erased before a row is printed under it.
  const sameTerminal = io.stdout.isTTY === true && io.stderr.isTTY === true;
  const out = new SerialWriter(io.stdout, sameTerminal ? () => progress?.clear() : undefined);
  const then = plan.then ? new ThenRunner(plan.then, io.runtime, { parallel: args.thenParallel, timeoutSeconds: args.thenTimeout ?? (plan.then.timeout > 0 ? plan.then.timeout : 5), flows: io.flows }) : undefined;
  const emit = (rows: ScanRow[]): void => out.write(output.rows(rows));
  // --explain: the silent ports wait for their verdicts (after the run, once the tracer is drained);
  // the engine reports every state then, and closed ports stay hidden unless --all-states asked.
  const sourcePorts = synSourcePorts(plan.spec);
  const watch = io.explainer?.watchScanPorts(sourcePorts);
  const silent: ScanHit[] = [];
  const shown = (hit: ScanHit): boolean => {
    if (!watch) return true;
    if (hit.reason === 'no-response') {
      silent.push(hit);
      return false;
    }
    return hit.state !== 'closed' || args.allStates;
  };
  const handle = engine.scan(plan.spec, {
    onHits(all: readonly ScanHit[]) {
      const hits = watch ? all.filter(shown) : all;
      if (!then) return hits.length ? emit(hits.map((hit) => ({ hit }))) : undefined;
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
  if (watch && io.explainer) {
    try {
      const verdicts = await io.explainer.explainSilent(sourcePorts, silent, watch.since);
      output.verdicts = verdicts;
      emit(silent.map((hit, i) => ({ hit, explain: verdicts[i] })));
    } finally {
      watch.done();
    }
  }
  out.write(output.tail(summary, plan.targets.addresses));
  if (args.grepable !== undefined) {
    const text = output.grepable(summary, plan.targets.addresses, io.command, startedAt, VERSION);
    if (grepToStdout) out.write(text);
    else writeFileSync(args.grepable, text);
  }
  await out.flushed();
  if (args.format !== 'human') await writeAll(io.stderr, `${summaryText(summary, plan.targets.addresses, output.verdicts)}\n`);
  return { summary, interrupted };
}
