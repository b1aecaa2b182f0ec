// `sonde scan`: a stateless SYN half-open scan on the native engine (issue 9). Flags in
// scan_args.ts, checks and refusals in scan_plan.ts (all before any packet), the run in scan_run.ts.
// Exit codes: 0 the scan ran, 1 it failed at run time, 2 usage error or refusal, 130 interrupted.
import { writeFileSync } from 'node:fs';
import { ConfigError } from '../config/load';
import { SynScanError } from '../native/syn';
import { Runtime } from '../runtime';
import { AddressSyntaxError } from '../scan/addrset';
import { PortSyntaxError } from '../scan/ports';
import { SpecFileError } from '../scan/spec_file';
import { ScanRefusal } from '../scan/targets';
import { UsageError } from './args';
import { openExplainer } from './explain';
import { errorLine, writeAll } from './output';
import { SCAN_USAGE, parseScanArgs, type ScanArgs } from './scan_args';
import { planScan, type ScanPlan } from './scan_plan';
import { runScan } from './scan_run';

/** Errors that mean "not started, nothing sent" (exit 2); the engine's refusal of a spec (source ports in the kernel's range...) too. */
function isRefusal(err: unknown): boolean {
  if (err instanceof SynScanError) return err.code === 'ERR_SONDE_SYN_SPEC';
  return err instanceof UsageError || err instanceof PortSyntaxError || err instanceof AddressSyntaxError || err instanceof SpecFileError || err instanceof ScanRefusal || err instanceof ConfigError;
}

async function refuse(err: unknown, withUsage: boolean): Promise<number> {
  // A config error lists its issues, one a line; the others are one line.
  const text = err instanceof ConfigError ? err.message : (err as Error).message;
  await writeAll(process.stderr, `sonde scan: ${text}\n${withUsage ? `${SCAN_USAGE.split('\n')[0]}\n(sonde scan --help lists every flag)\n` : ''}`);
  return 2;
}

export async function scanCommand(argv: string[]): Promise<number> {
  let args: ScanArgs;
  try {
    const parsed = parseScanArgs(argv);
    if ('help' in parsed) {
      await writeAll(process.stdout, `${SCAN_USAGE}\n`);
      return 0;
    }
    args = parsed;
  } catch (err) {
    if (isRefusal(err)) return refuse(err, err instanceof UsageError);
    throw err;
  }
  const ctl = new AbortController();
  const stop = (): void => ctl.abort();
  // on, not once: the SYN engine's own signal hook (src/native/syn.ts) steps aside only while
  // another listener is still there when it runs; a once-listener is gone by then.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const runtime = new Runtime();
  try {
    let plan: ScanPlan;
    try {
      plan = await planScan(args, ctl.signal);
      // A -oG file that cannot be written is found now, not after the scan.
      if (args.grepable !== undefined && args.grepable !== '-') writeFileSync(args.grepable, '');
    } catch (err) {
      if (isRefusal(err)) return refuse(err, false);
      if ((err as NodeJS.ErrnoException).code !== undefined && args.grepable !== undefined) return refuse(new UsageError(`-oG ${args.grepable}: ${errorLine(err)}`), false);
      throw err;
    }
    if (ctl.signal.aborted) return 130;
    let engine;
    try {
      engine = runtime.syn();
    } catch (err) {
      await writeAll(process.stderr, `sonde scan: cannot start the SYN engine: ${errorLine(err)}\n`);
      return 1;
    }
    const explainer = args.explain ? await openExplainer() : undefined;
    try {
      const flows = explainer?.flows;
      const io = { stdout: process.stdout, stderr: process.stderr, runtime, flows, explainer: flows, command: `sonde scan ${argv.join(' ')}`, signal: ctl.signal };
      const { interrupted } = await runScan(engine, plan, args, io);
      return interrupted ? 130 : 0;
    } catch (err) {
      if (isRefusal(err)) return refuse(err, false);
      await writeAll(process.stderr, `sonde scan: ${errorLine(err)}\n`);
      return 1;
    } finally {
      explainer?.close();
    }
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    runtime.close();
  }
}
