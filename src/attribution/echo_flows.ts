// ICMP echo flows of the native engine (issue 4). The engine picks each echo's identifier and sequence
// on its own thread at send time (native/icmp/engine.cc KeyOf), so no flow can be registered by echo id
// before the request leaves. Instead one "remote" key per target host (every echo to or from that
// address, bpf/flows.bpf.h SONDE_TIER_REMOTE) is registered before the first send, the programs report
// the id and sequence of every packet they match, and each outcome of the engine names the id:seq it
// went out with; a lost probe is then explained from the events of exactly its id:seq.
//
// Several probes may watch one host at once (a daemon task and a `sonde ping`): the kernel key is
// shared and reference-counted, and every watcher sees the events of the host.
import type { LostEcho } from '../probers/types';
import type { Attribution } from '../result';
import type { BpfEvent, DropTracer, SeenRecord } from '../native/bpf';
import { classifyLoss } from './classify';

export type { LostEcho };

export interface ExplainEchoOptions {
  /**
   * The engine reads replies on a raw socket: the kernel hands the raw socket a clone and frees the
   * original in ping_rcv() with NO_SOCKET, because no ping socket claims it (net/ipv4/ping.c). Those
   * shadow drops are not losses and are ignored.
   */
  rawSocket?: boolean;
}

interface Watcher {
  key: string;
  tracerId: number;
  /** CLOCK_MONOTONIC seconds at add(): seen records older than this belong to an earlier echo with the same id:seq */
  since: number;
  /** events by echo id << 16 | sequence, a few each */
  byWire: Map<number, BpfEvent[]>;
  overflow: number;
}

interface SharedKey {
  tracerId: number;
  watchers: Set<number>;
}

const EVENTS_PER_ECHO = 8;
const MAX_ECHOES_PER_WATCHER = 1 << 18;
// Watcher ids live above the tracer's 32-bit flow ids, so one registry can hand out both.
const FIRST_WATCHER_ID = 2 ** 32;

/**
 * True for drops of an echo reply's copies that are no loss: the original freed by ping_rcv() with
 * NO_SOCKET while a raw socket got its clone, and clones that other raw ICMP sockets filter out in
 * raw_rcv() (SOCKET_FILTER). The drop tracer leaves them out already (bpf/drop.bpf.c echo_reply_clone);
 * this is for kernels whose reason numbers it could not resolve.
 */
export function isRawShadowDrop(e: BpfEvent): boolean {
  if (e.kind !== 'drop' || e.direction !== 'ingress') return false;
  const at = e.location ?? '';
  return (e.reason === 'NO_SOCKET' && at.startsWith('ping_rcv')) || (e.reason === 'SOCKET_FILTER' && at.startsWith('raw_rcv'));
}

export class EchoFlows {
  private readonly keys = new Map<string, SharedKey>();
  private readonly byTracerId = new Map<number, SharedKey>();
  private readonly watchers = new Map<number, Watcher>();
  private nextId = FIRST_WATCHER_ID;

  constructor(private readonly tracer: DropTracer | null) {}

  owns(id: number): boolean {
    return id >= FIRST_WATCHER_ID;
  }

  /** Watches every echo to and from `remote`; returns a watcher id, 0 when it cannot (no eBPF, map full). */
  add(family: 4 | 6, remote: string): number {
    if (!this.tracer) return 0;
    const key = `${family}|${remote}`;
    let shared = this.keys.get(key);
    if (!shared) {
      let tracerId: number;
      try {
        tracerId = this.tracer.addFlow({ protocol: family === 6 ? 'icmp6' : 'icmp', remote, remotePort: 0, anyLocal: true });
      } catch {
        return 0;
      }
      if (tracerId <= 0) return 0;
      shared = { tracerId, watchers: new Set() };
      this.keys.set(key, shared);
      this.byTracerId.set(tracerId, shared);
    }
    const id = this.nextId++;
    shared.watchers.add(id);
    // process.hrtime is CLOCK_MONOTONIC (libuv), the clock of bpf_ktime_get_ns().
    this.watchers.set(id, { key, tracerId: shared.tracerId, since: Number(process.hrtime.bigint()) / 1e9, byWire: new Map(), overflow: 0 });
    return id;
  }

  remove(id: number): void {
    const w = this.watchers.get(id);
    if (!w) return;
    this.watchers.delete(id);
    const shared = this.keys.get(w.key);
    if (!shared) return;
    shared.watchers.delete(id);
    if (shared.watchers.size > 0) return;
    this.keys.delete(w.key);
    this.byTracerId.delete(shared.tracerId);
    this.tracer?.removeFlow(shared.tracerId);
  }

  /** Takes the events of echo keys; returns false for events of other flows. */
  collect(e: BpfEvent): boolean {
    const shared = this.byTracerId.get(e.flowId);
    if (!shared) return false;
    const wire = ((e.sport << 16) | (e.icmpSeq ?? 0)) >>> 0;
    for (const id of shared.watchers) {
      const w = this.watchers.get(id);
      if (!w) continue;
      let list = w.byWire.get(wire);
      if (!list) {
        if (w.byWire.size >= MAX_ECHOES_PER_WATCHER) {
          w.overflow++;
          continue;
        }
        w.byWire.set(wire, (list = []));
      }
      if (list.length < EVENTS_PER_ECHO) list.push(e);
      else w.overflow++;
    }
    return true;
  }

  /** The events seen for one echo of a watcher (after a drain). */
  events(id: number, echoId: number, echoSeq: number): readonly BpfEvent[] {
    return this.watchers.get(id)?.byWire.get(((echoId << 16) | echoSeq) >>> 0) ?? [];
  }

  /** What XDP recorded of one echo's reply, when it is newer than the watcher. */
  seen(id: number, echoId: number, echoSeq: number): SeenRecord | null {
    const w = this.watchers.get(id);
    if (!w || !this.tracer) return null;
    const rec = this.tracer.seen(w.tracerId, ((echoId << 16) | echoSeq) >>> 0);
    return rec && rec.lastTime >= w.since ? rec : null;
  }

  /** One attribution per lost echo, after the ring buffer is drained. */
  async explain(id: number, lost: readonly LostEcho[], opts: ExplainEchoOptions = {}): Promise<Attribution[]> {
    const w = this.watchers.get(id);
    if (!this.tracer || !w) return lost.map((l) => ({ seq: l.seq, verdict: 'unknown' }));
    const drained = await this.tracer.drain();
    const xdp = this.tracer.hasXdp();
    return lost.map((l) => {
      // An echo never built (the engine could not open a socket) has no packet to explain.
      if (l.echoId === 0 && l.echoSeq === 0) return { seq: l.seq, verdict: 'unknown' };
      let events = this.events(id, l.echoId, l.echoSeq);
      events = events.filter((e) => !(isRawShadowDrop(e) && (opts.rawSocket || e.reason === 'SOCKET_FILTER')));
      // The events are this echo's already: no sequence filter (l.seq is the caller's number, not the wire's).
      const seen = this.seen(id, l.echoId, l.echoSeq);
      const a: Attribution = { seq: l.seq, ...classifyLoss({ available: true, localNetns: this.tracer!.localNetns, events, seen, drained }) };
      if (xdp) a.replyAtNic = seen !== null || events.some((e) => e.kind === 'xdp');
      return a;
    });
  }
}
