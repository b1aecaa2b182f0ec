// Runs one probe with its deadline, whatever the prober does: a prober that throws (a bug) or
// overruns its deadline still yields a result, so one bad probe never stops the others.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Module } from '../config/types';
import { PROBERS } from '../probers';
import type { FlowRegistry } from '../probers/types';
import type { Attribution, ProbeResult } from '../result';

export interface RunOptions {
  timeoutSeconds: number;
  logger: Logger;
  flows?: FlowRegistry;
  /** aborts the probe early (daemon shutdown) */
  signal?: AbortSignal;
}

// Reasons that mean packets went missing: only these get a loss attribution (a 404 was not lost).
const LOSS_REASONS: ReadonlySet<string> = new Set(['timeout', 'connect_timeout', 'packet_loss', 'dns_timeout', 'network_error']);

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

/** Remembers the flows one probe registers, so that a failed probe can be explained afterwards. */
class ProbeFlows implements FlowRegistry {
  readonly ids: number[] = [];
  /** present only when the inner registry has it: probers choose their path by its presence */
  readonly addPortFlow?: (protocol: 'tcp' | 'udp', localPort: number) => number;
  constructor(private readonly inner: FlowRegistry) {
    if (inner.addPortFlow) {
      const add = inner.addPortFlow.bind(inner);
      this.addPortFlow = (protocol, localPort) => {
        const id = add(protocol, localPort);
        if (id > 0) this.ids.push(id);
        return id;
      };
    }
  }
  addSocketFlow(flow: Parameters<FlowRegistry['addSocketFlow']>[0]): number {
    const id = this.inner.addSocketFlow(flow);
    if (id > 0) this.ids.push(id);
    return id;
  }
  // Echo flows are explained by the icmp prober itself, per sequence: not part of attribution().
  addEchoFlow(flow: { family: 4 | 6; remote: string }): number {
    return this.inner.addEchoFlow?.(flow) ?? 0;
  }
  explainEchoes(...args: Parameters<NonNullable<FlowRegistry['explainEchoes']>>): Promise<Attribution[]> {
    return this.inner.explainEchoes ? this.inner.explainEchoes(...args) : Promise.resolve(args[1].map((l) => ({ seq: l.seq, verdict: 'unknown' as const })));
  }
  remove(id: number): void {
    this.inner.remove(id);
  }
  async attribution(): Promise<Attribution[]> {
    if (!this.inner.explain || this.ids.length === 0) return [{ verdict: 'unknown' }];
    const all = await Promise.all(this.ids.map((id) => (this.inner.explain as NonNullable<FlowRegistry['explain']>)(id)));
    return all.flat();
  }
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
    const flows = opts.flows ? new ProbeFlows(opts.flows) : undefined;
    const result = await Promise.race([prober(target, module, { signal: ac.signal, deadline, logger: opts.logger, flows }), guard]);
    if (!result.success && !result.reason) result.reason = 'internal';
    // Every failed probe says where it was lost when it can; the ICMP prober attributes per sequence itself.
    if (!result.success && !result.attribution && LOSS_REASONS.has(result.reason as string)) result.attribution = flows ? await flows.attribution() : [{ verdict: 'unknown' }];
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
