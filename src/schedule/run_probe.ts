// Runs one probe with its deadline, whatever the prober does: a prober that throws (a bug) or
// overruns its deadline still yields a result, so one bad probe never stops the others.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Module } from '../config/types';
import { PROBERS } from '../probers';
import type { FlowRegistry } from '../probers/types';
import type { ProbeResult } from '../result';

export interface RunOptions {
  timeoutSeconds: number;
  logger: Logger;
  flows?: FlowRegistry;
  /** aborts the probe early (daemon shutdown) */
  signal?: AbortSignal;
}

// Grace after the deadline before the runner gives up on a prober that ignores its signal.
const OVERRUN_GRACE_MS = 250;

function failed(target: string, module: Module, startedAt: number, t0: number, reason: ProbeResult['reason'], message: string): ProbeResult {
  return {
    target,
    module: module.name,
    prober: module.prober,
    success: false,
    reason,
    message,
    startedAt,
    durationSeconds: (performance.now() - t0) / 1000,
    phases: {},
  };
}

export async function runProbe(target: string, module: Module, opts: RunOptions): Promise<ProbeResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const prober = PROBERS[module.prober];
  if (!prober) return failed(target, module, startedAt, t0, 'config', `prober ${module.prober} is not available in this version of sonde`);
  const ac = new AbortController();
  const timeoutMs = Math.max(1, opts.timeoutSeconds * 1000);
  const deadline = t0 + timeoutMs;
  const timer = setTimeout(() => ac.abort(new Error('probe deadline passed')), timeoutMs);
  const onOuterAbort = () => ac.abort(new Error('daemon stopping'));
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let overrun: NodeJS.Timeout | undefined;
  try {
    const guard = new Promise<ProbeResult>((resolve) => {
      overrun = setTimeout(
        () => resolve(failed(target, module, startedAt, t0, 'timeout', `prober ${module.prober} overran its ${opts.timeoutSeconds}s deadline`)),
        timeoutMs + OVERRUN_GRACE_MS,
      );
    });
    const result = await Promise.race([prober(target, module, { signal: ac.signal, deadline, logger: opts.logger, flows: opts.flows }), guard]);
    if (!result.success && !result.reason) result.reason = 'internal';
    return result;
  } catch (err) {
    opts.logger.error({ err, target, module: module.name }, 'prober threw instead of returning a result');
    return failed(target, module, startedAt, t0, 'internal', `prober threw: ${(err as Error)?.message ?? String(err)}`);
  } finally {
    clearTimeout(timer);
    clearTimeout(overrun);
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}
