// Attribution for `sonde trace --explain` (issue 4): every probe of a path trace that got no answer
// gets a verdict. The trace engine picks each probe's wire identity on its own thread, so the flow is
// registered before the first probe by remote service (bpf/flows.bpf.h SONDE_TIER_REMOTE: every packet
// to or from the target, and port for UDP/TCP), and each lost probe is then found among the events of
// that flow by what names it on the wire (native/packet/trace.h):
//   ICMP  echo id = flow, sequence = key                 (events keyed by id:seq, src/attribution/echo_flows.ts)
//   UDP   source port = flow, IPv4 identification = key (BpfEvent.wireTag; IPv6 carries it in the payload only)
//   TCP   source port = flow, sequence = key << 16 | gen (BpfEvent.wireTag)
// and by time: keys are reused once a probe ends, so only events from its send to its deadline count.
// Probes that died at or beyond a router are no local matter: the answer that did not come (ICMP time
// exceeded) is not a probe-flow packet at all, and a drop inside another namespace is never local
// (the tracer only reports the probe host's netns).
import type { BpfEvent } from '../native/bpf';
import type { TraceProto } from '../native/trace';
import type { LostTraceProbe } from '../probers/trace/run';
import type { Attribution } from '../result';
import { classifyLoss } from './classify';
import { isRawShadowDrop } from './echo_flows';
import type { BpfFlowRegistry } from './registry';

export interface TraceWatch {
  id: number;
  proto: TraceProto;
}

/** Registers the trace's flow before the first probe leaves; id 0 when eBPF is unavailable. */
export function watchTrace(flows: BpfFlowRegistry, family: 4 | 6, address: string, proto: TraceProto, port: number): TraceWatch {
  if (proto === 'icmp') return { id: flows.addEchoFlow({ family, remote: address }), proto };
  return { id: flows.add({ protocol: proto, remote: address, remotePort: port, anyLocal: true }), proto };
}

/** Events that are this probe's: by wire identity, within [sent, deadline]. */
function probeEvents(flows: BpfFlowRegistry, w: TraceWatch, p: LostTraceProbe, timeout: number): BpfEvent[] {
  const o = p.outcome;
  // Egress drops happen inside sendmsg, after the send time was taken; 0.1 ms of slack for clock reads.
  const from = o.sentAt - 1e-4;
  const to = o.sentAt + timeout + 0.1;
  const inWindow = (e: BpfEvent) => e.time >= from && e.time <= to;
  if (w.proto === 'icmp') {
    // The engine reads on raw sockets: ping_rcv()'s NO_SOCKET and raw_rcv()'s filtered clones are no loss.
    return flows.echoEvents(w.id, p.flow, o.key).filter((e) => inWindow(e) && !isRawShadowDrop(e));
  }
  // Replies to raw-socket probes are never a socket's: the host stack frees every SYN-ACK with
  // NO_SOCKET (and answers RST), so only the probe's own (egress) packet can name it.
  const tag = w.proto === 'tcp' ? ((o.key << 16) | o.gen) >>> 0 : o.key;
  return flows.events(w.id).filter((e) => e.direction === 'egress' && e.sport === p.flow && (e.wireTag === tag || e.family === 6) && inWindow(e));
}

/**
 * One attribution per lost probe, grouped by TTL (in the order given), after the ring buffer is
 * drained. `seq` is the probe's index among those sent at its TTL. `timeout`: seconds each probe waited.
 */
export async function explainTrace(
  flows: BpfFlowRegistry,
  w: TraceWatch,
  lost: readonly LostTraceProbe[],
  timeout: number,
): Promise<Map<number, Attribution[]>> {
  const out = new Map<number, Attribution[]>();
  const push = (ttl: number, a: Attribution) => (out.get(ttl) ?? out.set(ttl, []).get(ttl)!).push(a);
  if (!flows.available || w.id === 0) {
    for (const p of lost) push(p.ttl, { seq: p.index, verdict: 'unknown' });
    return out;
  }
  const drained = await flows.drain();
  const xdp = flows.xdpAttached && w.proto === 'icmp';
  for (const p of [...lost].sort((a, b) => a.ttl - b.ttl || a.index - b.index)) {
    // Never built (no route, no socket): there is no packet to explain.
    if (p.outcome.sentAt === 0) {
      push(p.ttl, { seq: p.index, verdict: 'unknown' });
      continue;
    }
    const events = probeEvents(flows, w, p, timeout);
    let seen = w.proto === 'icmp' ? flows.echoSeen(w.id, p.flow, p.outcome.key) : null;
    if (seen && seen.lastTime < p.outcome.sentAt) seen = null; // an earlier probe with the same id:seq
    const a: Attribution = { seq: p.index, ...classifyLoss({ available: true, localNetns: flows.localNetns, events, seen, drained }) };
    if (xdp) a.replyAtNic = seen !== null || events.some((e) => e.kind === 'xdp');
    push(p.ttl, a);
  }
  return out;
}

/** "5 path_loss, 2 local_drop NETFILTER_DROP egress": one hop's attributions for the text report. */
export function summarizeAttribution(list: readonly Attribution[]): string {
  const counts = new Map<string, number>();
  for (const a of list) {
    const key = [a.verdict, a.reason, a.direction].filter(Boolean).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([k, n]) => `${n} ${k}`).join(', ');
}
