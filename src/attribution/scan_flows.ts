// Where a SYN scan's silent ports were lost. The scanner's source ports are registered as port flows
// (src/native/syn_flows.ts), so the drop tracer reports every drop of a packet to or from them; but
// one source port serves many (address, port) pairs, so the events are told apart here by the remote
// side: a SYN leaving has the pair as destination, a SYN-ACK or RST coming back as source. Each
// silent pair is then classified as any lost probe is (classify.ts).
//
// The ports stay registered while any scan or tcp_syn probe uses them (reference-counted: a daemon's
// probes share the engine's one range), so their events are kept in a ring of recent ones rather
// than per flow, and a run reads those since it began.
import type { BpfEvent, DropTracer } from '../native/bpf';
import type { PortRange } from '../native/syn_types';
import type { Attribution } from '../result';
import { classifyLoss } from './classify';

/** A pair that never answered: the port is filtered by silence. */
export interface SilentPair {
  address: string;
  port: number;
}

function pairKey(address: string, port: number): string {
  return `${address} ${port}`;
}

/** The remote (address, port) of one event of the scanner's flows: the SYN's destination, or the reply's source. */
function remoteOf(e: BpfEvent, ports: PortRange): string {
  const fromScanner = e.sport >= ports[0] && e.sport <= ports[1];
  return fromScanner ? pairKey(e.daddr, e.dport) : pairKey(e.saddr, e.sport);
}

/** Events of scan ports kept for explain(): enough for a whole 65,535-port scan's drops. */
export const SCAN_EVENTS_KEPT = 1 << 17;

/** A run's hold on the scan ports: when it began (CLOCK_MONOTONIC seconds, bpf_ktime_get_ns's clock) and how to let go. */
export interface ScanWatch {
  since: number;
  done(): void;
}

/** CLOCK_MONOTONIC seconds: process.hrtime reads it (libuv), as bpf_ktime_get_ns() does. */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

interface Range {
  ports: PortRange;
  tracerIds: number[];
  users: number;
}

export class ScanFlows {
  private readonly ranges = new Map<string, Range>();
  private readonly mine = new Set<number>();
  private readonly ring: BpfEvent[] = [];
  private head = 0;

  constructor(
    private readonly tracer: DropTracer | null,
    private readonly kept = SCAN_EVENTS_KEPT,
  ) {}

  /**
   * Registers the source ports (at most `limit`: the flow map is shared with every other probe) until
   * the watch is done. Without eBPF only the time is kept.
   */
  watch(ports: PortRange, limit = 4096): ScanWatch {
    const since = monotonicSeconds();
    const tracer = this.tracer;
    if (!tracer) return { since, done: () => undefined };
    const key = `${ports[0]}-${ports[1]}`;
    let range = this.ranges.get(key);
    if (!range) {
      const tracerIds: number[] = [];
      for (let p = ports[0]; p <= ports[1] && tracerIds.length < limit; p++) {
        let id = 0;
        try {
          id = tracer.addPortFlow('tcp', p);
        } catch {
          id = 0; // map full or a port another probe holds: that port goes unexplained
        }
        if (id > 0) tracerIds.push(id);
      }
      range = { ports, tracerIds, users: 0 };
      this.ranges.set(key, range);
      for (const id of tracerIds) this.mine.add(id);
    }
    range.users++;
    const r = range;
    let ended = false;
    const done = (): void => {
      if (ended) return;
      ended = true;
      if (--r.users > 0) return;
      this.ranges.delete(key);
      for (const id of r.tracerIds) {
        this.mine.delete(id);
        tracer.removeFlow(id);
      }
    };
    return { since, done };
  }

  /** Takes the event when it is of a scan port (true), into the ring of recent ones. */
  collect(e: BpfEvent): boolean {
    if (!this.mine.has(e.flowId)) return false;
    if (this.ring.length < this.kept) this.ring.push(e);
    else {
      this.ring[this.head] = e;
      this.head = (this.head + 1) % this.kept;
    }
    return true;
  }

  /** explainSilentPairs over the events since `since` (CLOCK_MONOTONIC seconds); the caller drained the tracer (`drained`: in time). */
  explain(ports: PortRange, silent: readonly SilentPair[], since: number, localNetns: number, drained = true): Attribution[] {
    const events = this.ring.filter((e) => e.time >= since);
    return explainSilentPairs(events, ports, silent, { available: this.tracer !== null, localNetns, drained });
  }
}

/**
 * One attribution per silent pair, in their order, with the pair's port (and address) on it.
 * `available` false (no eBPF): every verdict is unknown.
 */
export function explainSilentPairs(
  events: readonly BpfEvent[],
  ports: PortRange,
  silent: readonly SilentPair[],
  opts: { available: boolean; localNetns: number; drained?: boolean },
): Attribution[] {
  const byPair = new Map<string, BpfEvent[]>();
  for (const e of events) {
    const key = remoteOf(e, ports);
    const list = byPair.get(key);
    if (list) list.push(e);
    else byPair.set(key, [e]);
  }
  return silent.map((p) => ({
    ...classifyLoss({ available: opts.available, localNetns: opts.localNetns, drained: opts.drained, events: byPair.get(pairKey(p.address, p.port)) ?? [] }),
    address: p.address,
    port: p.port,
  }));
}
