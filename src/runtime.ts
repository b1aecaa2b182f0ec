// One runtime per daemon, CLI command or (later) worker thread and tenant: the native engines a
// probe may use, made on first use and closed together. Probers reach them through their probe
// context (ctx.runtime), never through module globals, so two runtimes never share an engine and a
// test can give a prober its own.
//
// Each engine's module loads with the engine: `sonde ping` starts without the stream, SYN and
// trace wrappers (~6 ms of its start).
import { SCHEDULER_DEFAULTS } from './config/defaults';
import type { SchedulerSettings } from './config/types';
import { IcmpEngine } from './native/icmp';
import type { EngineClass, EngineClassCounters, EngineQosLimits } from './native/qos';
import type { StreamPool } from './native/stream';
import type { SynEngine } from './native/syn_types';
import type { TraceEngine } from './native/trace';

export interface RuntimeOptions {
  /** slots of each stream engine (probes with an open socket at once); default 4096 */
  streamCapacity?: number;
  /** log2 of the ICMP engine's probe table; default 20 (a million echoes in flight) */
  icmpCapacityLog2?: number;
  /**
   * Plain TCP connects and plain HTTP on the native stream engine (the fast path,
   * src/probers/fast.ts); false: on Node sockets and undici. Default: fastPathFromEnv().
   */
  fastPath?: boolean;
}

/** The fast path's default: on, unless SONDE_FAST_PATH=0 (to compare the transports, or rule one out). */
export function fastPathFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SONDE_FAST_PATH !== '0';
}

/**
 * The ICMP table for `probes` in flight at once (a daemon's task and /probe bounds): room for 16
 * echoes each (pings rounds of up to 16 in flight), 2^16 to 2^20 slots. Each slot is resident
 * memory (2^20 is ~6 MB of the daemon's idle RSS); echoes past the table wait for a slot in the
 * engine's queue (native/icmp/engine.cc), they are not dropped.
 */
export function icmpTableLog2(probes: number): number {
  return Math.min(20, Math.max(16, Math.ceil(Math.log2(Math.max(1, probes) * 16))));
}

/** The `scheduler:` section's engine keys as the engines take them (no section: the defaults, also after a reload that removed it). */
export function engineQos(s: SchedulerSettings | undefined): EngineQosLimits {
  const v = s ?? SCHEDULER_DEFAULTS;
  return { bestEffortShare: v.engine_best_effort_share, standardShare: v.engine_standard_share, queueBound: v.engine_queue_bound };
}

/* eslint-disable @typescript-eslint/no-require-imports -- each engine's module is required at its first use */
export class Runtime {
  /** whether probes may take the stream engine (RuntimeOptions.fastPath), fixed for the runtime's life */
  readonly fastPath: boolean;
  private streamPool: StreamPool | undefined;
  private icmpEngine: IcmpEngine | undefined;
  private traceEngine: TraceEngine | undefined;
  private synEngine: SynEngine | undefined;
  private qos: EngineQosLimits | undefined;

  constructor(private readonly opts: RuntimeOptions = {}) {
    this.fastPath = opts.fastPath ?? fastPathFromEnv();
  }

  /** TCP connects and plain HTTP probes, and the /probe gateway's engine threads (each made at first use) */
  get stream(): StreamPool {
    if (!this.streamPool) {
      this.streamPool = new (require('./native/stream') as typeof import('./native/stream')).StreamPool({ capacity: this.opts.streamCapacity });
      if (this.qos) this.streamPool.setQos(this.qos);
    }
    return this.streamPool;
  }

  /** The ICMP echo engine; throws IcmpSocketError when no ICMP socket can be opened. */
  icmp(): IcmpEngine {
    this.icmpEngine ??= new IcmpEngine({ capacityLog2: this.opts.icmpCapacityLog2 ?? 20, qos: this.qos });
    return this.icmpEngine;
  }

  /** The QoS shares and queue bound of the engines (src/native/qos.ts): the ones running and those made later. */
  setEngineQos(limits: EngineQosLimits): void {
    this.qos = limits;
    this.streamPool?.setQos(limits);
    this.icmpEngine?.setQos(limits);
  }

  /** Per QoS class, of the engines made so far (none is made to answer). */
  engineClassCounters(): { engine: 'stream' | 'icmp'; counts: Record<EngineClass, EngineClassCounters> }[] {
    const out: { engine: 'stream' | 'icmp'; counts: Record<EngineClass, EngineClassCounters> }[] = [];
    const stream = this.streamPool?.classCountersIfStarted();
    if (stream) out.push({ engine: 'stream', counts: stream });
    if (this.icmpEngine) out.push({ engine: 'icmp', counts: this.icmpEngine.classCounters() });
    return out;
  }

  /** The trace engine; throws TraceSocketError without raw sockets. */
  trace(): TraceEngine {
    this.traceEngine ??= new (require('./native/trace') as typeof import('./native/trace')).TraceEngine();
    return this.traceEngine;
  }

  /** The SYN scan engine (`sonde scan`, the tcp_syn prober); throws SynScanError without raw sockets. */
  syn(): SynEngine {
    this.synEngine ??= new (require('./native/syn') as typeof import('./native/syn')).NativeSynEngineImpl();
    return this.synEngine;
  }

  /** Closes every engine made so far; pending probes reject. Using the runtime again makes new ones. */
  close(): void {
    this.streamPool?.close();
    this.icmpEngine?.close();
    this.icmpEngine = undefined;
    this.traceEngine?.close();
    this.traceEngine = undefined;
    this.synEngine?.close();
    this.synEngine = undefined;
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */
