// One runtime per daemon, CLI command or (later) worker thread and tenant: the native engines a
// probe may use, made on first use and closed together. Probers reach them through their probe
// context (ctx.runtime), never through module globals, so two runtimes never share an engine and a
// test can give a prober its own.
import { IcmpEngine } from './native/icmp';
import { StreamPool } from './native/stream';
import { TraceEngine } from './native/trace';

export interface RuntimeOptions {
  /** slots of each stream engine (probes with an open socket at once); default 4096 */
  streamCapacity?: number;
  /** log2 of the ICMP engine's probe table; default 20 (a million echoes in flight) */
  icmpCapacityLog2?: number;
}

export class Runtime {
  /** TCP connects and plain HTTP probes, and the /probe gateway's engine threads */
  readonly stream: StreamPool;
  private icmpEngine: IcmpEngine | undefined;
  private traceEngine: TraceEngine | undefined;

  constructor(private readonly opts: RuntimeOptions = {}) {
    this.stream = new StreamPool({ capacity: opts.streamCapacity });
  }

  /** The ICMP echo engine; throws IcmpSocketError when no ICMP socket can be opened. */
  icmp(): IcmpEngine {
    this.icmpEngine ??= new IcmpEngine({ capacityLog2: this.opts.icmpCapacityLog2 ?? 20 });
    return this.icmpEngine;
  }

  /** The trace engine; throws TraceSocketError without raw sockets. */
  trace(): TraceEngine {
    this.traceEngine ??= new TraceEngine();
    return this.traceEngine;
  }

  /** Closes every engine made so far; pending probes reject. Using the runtime again makes new ones. */
  close(): void {
    this.stream.close();
    this.icmpEngine?.close();
    this.icmpEngine = undefined;
    this.traceEngine?.close();
    this.traceEngine = undefined;
  }
}
