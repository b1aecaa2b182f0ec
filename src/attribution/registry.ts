// FlowRegistry for probes that use kernel sockets (and the raw engines' echo ids): registers each flow
// in the eBPF flow map, keeps the events of its flow (bounded), and answers "why was it lost?".
// Without eBPF every call is a cheap no-op and every verdict is `unknown`.
import type { FlowRegistry } from '../probers/types';
import type { Attribution } from '../result';
import type { BpfEvent, DropTracer, FlowSpec, SeenRecord } from '../native/bpf';
import { classifyLoss } from './classify';
import { EchoFlows, type ExplainEchoOptions, type LostEcho } from './echo_flows';
import type { PortRange } from '../native/syn_types';
import { ScanFlows, type ScanWatch, type SilentPair } from './scan_flows';

export interface FlowRegistryOptions {
  /** events kept per flow; further ones are counted but not stored */
  maxEventsPerFlow?: number;
  /** ended flows whose events stay available to explain() (oldest forgotten first) */
  keepEnded?: number;
}

interface FlowRecord {
  events: BpfEvent[];
  overflow: number;
}

export class BpfFlowRegistry implements FlowRegistry {
  /** null until the flow's first event: most probes have none, and then need no record */
  private readonly live = new Map<number, FlowRecord | null>();
  private readonly ended = new Map<number, FlowRecord>();
  private readonly maxEvents: number;
  private readonly keepEnded: number;
  private readonly echoes: EchoFlows;
  private readonly scans: ScanFlows;

  constructor(
    private readonly tracer: DropTracer | null,
    opts: FlowRegistryOptions = {},
  ) {
    this.maxEvents = opts.maxEventsPerFlow ?? 64;
    this.keepEnded = opts.keepEnded ?? 4096;
    this.echoes = new EchoFlows(tracer);
    this.scans = new ScanFlows(tracer);
    tracer?.onEvents((events) => this.collect(events));
  }

  get available(): boolean {
    return this.tracer !== null;
  }

  addSocketFlow(flow: { protocol: 'tcp' | 'udp'; local: string; localPort: number; remote: string; remotePort: number }): number {
    return this.add({ ...flow });
  }

  /** A flow by local port alone: for probes that bind a port sonde holds exclusively (src/probers/source_ports.ts). */
  addPortFlow(protocol: 'tcp' | 'udp', localPort: number): number {
    if (!this.tracer) return 0;
    try {
      const id = this.tracer.addPortFlow(protocol, localPort);
      if (id <= 0) return 0;
      this.live.set(id, null);
      return id;
    } catch {
      return 0;
    }
  }

  /** Every ICMP echo of the native engine to and from one host (src/attribution/echo_flows.ts). */
  addEchoFlow(flow: { family: 4 | 6; remote: string }): number {
    return this.echoes.add(flow.family, flow.remote);
  }

  /** One attribution per lost echo of an addEchoFlow() id. */
  explainEchoes(id: number, lost: readonly LostEcho[], opts?: ExplainEchoOptions): Promise<Attribution[]> {
    return this.echoes.explain(id, lost, opts);
  }

  /** A SYN scan's source ports as flows, until the watch is done (src/attribution/scan_flows.ts). */
  watchScanPorts(ports: PortRange): ScanWatch {
    return this.scans.watch(ports);
  }

  /** One attribution per silent pair of a scan on watched ports that began at `since` (CLOCK_MONOTONIC s). */
  async explainSilent(ports: PortRange, silent: readonly SilentPair[], since: number): Promise<Attribution[]> {
    const drained = (await this.tracer?.drain()) ?? true;
    return this.scans.explain(ports, silent, since, this.tracer?.localNetns ?? 0, drained);
  }

  /** What XDP recorded of one echo's reply (an addEchoFlow() id and the echo's wire id:seq). */
  echoSeen(id: number, echoId: number, echoSeq: number): SeenRecord | null {
    return this.echoes.seen(id, echoId, echoSeq);
  }

  echoEvents(id: number, echoId: number, echoSeq: number): readonly BpfEvent[] {
    return this.echoes.events(id, echoId, echoSeq);
  }

  /** A flow's id, or 0 when it could not be registered (no eBPF, map full, duplicate). Never throws. */
  add(spec: FlowSpec): number {
    if (!this.tracer) return 0;
    try {
      const id = this.tracer.addFlow(spec);
      if (id <= 0) return 0;
      this.live.set(id, null);
      return id;
    } catch {
      return 0;
    }
  }

  /** Removes the flow from the kernel map at once; its events stay for explain() (bounded). */
  remove(id: number): void {
    if (this.echoes.owns(id)) return this.echoes.remove(id);
    const rec = this.live.get(id);
    if (rec === undefined) return;
    this.live.delete(id);
    this.tracer?.removeFlow(id);
    // A flow without events explains the same as a forgotten one: only those with events are kept.
    if (rec === null) return;
    this.ended.set(id, rec);
    if (this.ended.size > this.keepEnded) this.ended.delete(this.ended.keys().next().value as number);
  }

  events(id: number): readonly BpfEvent[] {
    return (this.live.get(id) ?? this.ended.get(id))?.events ?? [];
  }

  /** Resolves true once every event the kernel produced so far has been collected, false if not in time. */
  async drain(): Promise<boolean> {
    return (await this.tracer?.drain()) ?? true;
  }

  /** true when the XDP observer is attached somewhere: "no reply reached the NIC" means something */
  get xdpAttached(): boolean {
    return this.tracer?.hasXdp() ?? false;
  }

  get localNetns(): number {
    return this.tracer?.localNetns ?? 0;
  }

  /** What the XDP observer recorded of the flow's replies (also after remove(), until the LRU map forgets). */
  seen(id: number): SeenRecord | null {
    if (!this.tracer || id === 0 || this.echoes.owns(id)) return null;
    return this.tracer.seen(id);
  }

  /**
   * One attribution per lost probe (per ICMP sequence in `seqs`, or one for the whole flow), after
   * the ring buffer is drained so that drops up to now are counted.
   */
  async explain(id: number, seqs?: readonly number[]): Promise<Attribution[]> {
    if (!this.tracer || id === 0) return (seqs ?? [undefined]).map((seq) => (seq === undefined ? { verdict: 'unknown' } : { seq, verdict: 'unknown' }));
    const drained = await this.tracer.drain();
    const events = this.events(id);
    const base = { available: true, localNetns: this.tracer.localNetns, events, drained };
    if (!seqs) return [classifyLoss({ ...base, seen: this.seen(id) })];
    return seqs.map((seq) => classifyLoss({ ...base, seq }));
  }

  private collect(events: readonly BpfEvent[]): void {
    for (const e of events) {
      if (this.echoes.collect(e) || this.scans.collect(e)) continue;
      let rec = this.live.get(e.flowId);
      if (rec === undefined) continue;
      if (rec === null) this.live.set(e.flowId, (rec = { events: [], overflow: 0 }));
      if (rec.events.length < this.maxEvents) rec.events.push(e);
      else rec.overflow++;
    }
  }
}
