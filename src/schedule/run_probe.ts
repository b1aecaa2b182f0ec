// Runs one probe with its deadline, whatever the prober does: a prober that throws (a bug) or
// overruns its deadline still yields a result, so one bad probe never stops the others.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { moduleRefusal } from '../config/refusals';
import type { Module } from '../config/types';
import type { EngineClass } from '../native/qos';
import { proberFor } from '../probers/index';
import type { CancelSignal, FlowRegistry, ProbeContext, ProbeGate } from '../probers/types';
import type { Attribution, ProbeResult } from '../result';
import type { Runtime } from '../runtime';

export type { CancelSignal } from '../probers/types';

export interface RunOptions {
  timeoutSeconds: number;
  logger: Logger;
  /** the engines probes use (the daemon's, a CLI command's) */
  runtime: Runtime;
  flows?: FlowRegistry;
  /** aborts the probe early (daemon shutdown, a /probe client that left) */
  signal?: CancelSignal;
  /** the /probe policy's hold on what the probe resolves and where it goes (src/policy/gate.ts) */
  gate?: ProbeGate;
  /** its class in the native engines: the task's QoS class, 'probe' for /probe requests (absent: critical) */
  qos?: EngineClass;
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
  /** the first flow; most probes have one and never fail, so no array is made for it */
  first = 0;
  more: number[] | undefined;
  constructor(protected readonly inner: FlowRegistry) {}
  protected keep(id: number): number {
    if (id > 0) {
      if (this.first === 0) this.first = id;
      else (this.more ??= []).push(id);
    }
    return id;
  }
  addSocketFlow(flow: Parameters<FlowRegistry['addSocketFlow']>[0]): number {
    return this.keep(this.inner.addSocketFlow(flow));
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
  // A scan's ports are watched and explained by the tcp_syn prober itself, per silent port.
  watchScanPorts(ports: readonly [number, number]): { since: number; done(): void } {
    return this.inner.watchScanPorts?.(ports) ?? { since: 0, done: () => undefined };
  }
  explainSilent(...args: Parameters<NonNullable<FlowRegistry['explainSilent']>>): Promise<Attribution[]> {
    return this.inner.explainSilent ? this.inner.explainSilent(...args) : Promise.resolve(args[1].map((p) => ({ address: p.address, port: p.port, verdict: 'unknown' as const })));
  }
  async attribution(): Promise<Attribution[]> {
    if (!this.inner.explain || this.first === 0) return [{ verdict: 'unknown' }];
    const all = await Promise.all([this.first, ...(this.more ?? [])].map((id) => (this.inner.explain as NonNullable<FlowRegistry['explain']>)(id)));
    return all.flat();
  }
}

/**
 * ProbeFlows for a registry that registers flows by port. A subclass rather than a per-probe closure:
 * probers choose their path by whether addPortFlow is present (src/probers/fast.ts).
 */
class ProbePortFlows extends ProbeFlows {
  addPortFlow(protocol: 'tcp' | 'udp', localPort: number): number {
    return this.keep((this.inner.addPortFlow as NonNullable<FlowRegistry['addPortFlow']>)(protocol, localPort));
  }
}

/**
 * The context a prober gets. The AbortController is made on the first read of `signal`: the native
 * fast path never reads it (the engine keeps the deadline itself), and one controller per probe
 * was 3-4% of the JS thread in continuous mode.
 */
class LazyContext implements ProbeContext {
  private ac: AbortController | undefined;
  private expired = false;
  private onOuterAbort: (() => void) | undefined;
  /** ends the engine probe running now (cancellable) */
  private cancelEngine: (() => void) | undefined;

  constructor(
    readonly deadline: number,
    readonly logger: Logger,
    readonly runtime: Runtime,
    readonly flows: ProbeFlows | undefined,
    private readonly outer: CancelSignal | undefined,
    readonly gate: ProbeGate | undefined,
    readonly qos: EngineClass | undefined,
  ) {}

  get signal(): AbortSignal {
    if (this.ac) return this.ac.signal;
    const ac = (this.ac = new AbortController());
    if (this.expired) ac.abort(new Error('probe deadline passed'));
    else if (this.outer?.aborted) ac.abort(new Error('probe cancelled'));
    else this.listenOuter();
    return ac.signal;
  }

  /** One listener on the outer signal, made when something is there to cancel. */
  private listenOuter(): void {
    if (!this.outer || this.onOuterAbort) return;
    this.onOuterAbort = () => {
      this.ac?.abort(new Error('probe cancelled'));
      this.cancelEngine?.();
    };
    this.outer.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  cancellable(cancel: () => void): void {
    // A listener per probe on an AbortSignal costs more than it saves: the daemon's own signals
    // abort at shutdown, when the engines close anyway. /probe requests pass a RequestCancel.
    if (!this.outer || this.outer instanceof AbortSignal) return;
    if (this.outer.aborted) return cancel();
    this.cancelEngine = cancel;
    this.listenOuter();
  }

  get aborted(): boolean {
    return this.ac ? this.ac.signal.aborted : this.expired || this.outer?.aborted === true;
  }

  expire(): void {
    this.expired = true;
    this.ac?.abort(new Error('probe deadline passed'));
  }

  dispose(): void {
    if (this.onOuterAbort) this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}

export async function runProbe(target: string, module: Module, opts: RunOptions): Promise<ProbeResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const prober = proberFor(module.prober)?.probe;
  if (!prober) return failed(target, module, startedAt, t0, 'config', `prober ${module.prober} is not available in this version of sonde`);
  const refusal = moduleRefusal(module);
  if (refusal !== undefined) return failed(target, module, startedAt, t0, 'unsupported', `modules.${module.name}.${refusal}`);
  const timeoutMs = Math.max(1, opts.timeoutSeconds * 1000);
  const flows = opts.flows ? (opts.flows.addPortFlow ? new ProbePortFlows(opts.flows) : new ProbeFlows(opts.flows)) : undefined;
  const ctx = new LazyContext(t0 + timeoutMs, opts.logger, opts.runtime, flows, opts.signal, opts.gate, opts.qos);
  // One timer per probe: at the deadline it aborts the probe and re-arms itself as the overrun guard.
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await new Promise<ProbeResult>((resolve, reject) => {
      timer = setTimeout(() => {
        ctx.expire();
        timer = setTimeout(
          () => resolve(failed(target, module, startedAt, t0, 'timeout', `prober ${module.prober} overran its ${opts.timeoutSeconds}s deadline`)),
          OVERRUN_GRACE_MS,
        );
      }, timeoutMs);
      prober(target, module, ctx).then(resolve, reject);
    });
    if (!result.success && !result.reason) result.reason = 'internal';
    // Every failed probe says where it was lost when it can; the ICMP prober attributes per sequence itself.
    if (!result.success && !result.attribution && LOSS_REASONS.has(result.reason as string)) result.attribution = flows ? await flows.attribution() : [{ verdict: 'unknown' }];
    return result;
  } catch (err) {
    opts.logger.error({ err, target, module: module.name }, 'prober threw instead of returning a result');
    return failed(target, module, startedAt, t0, 'internal', `prober threw: ${(err as Error)?.message ?? String(err)}`);
  } finally {
    clearTimeout(timer);
    ctx.dispose();
  }
}
