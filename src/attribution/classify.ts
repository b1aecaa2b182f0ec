// Decides where a lost probe was lost, from what the eBPF programs saw of its flow:
//   - a kfree_skb with a reason inside the probe host's netns  -> local_drop (reason, location, direction)
//   - nothing dropped locally and no reply reached the NIC     -> path_loss (request left, reply never came)
//   - a reply reached the NIC (XDP) but no local drop was seen -> unknown (late reply, or drop without reason)
// "Reached the NIC" is the XDP observer's seen map (one record per echo or flow, read for lost probes
// only), or an XDP ring event when those are enabled.
//   - eBPF unavailable, or the ring not read up to now in time  -> unknown
// Pure: no I/O, so every rule is tested without privileges.
import type { Attribution } from '../result';
import type { BpfEvent, SeenRecord } from '../native/bpf';

export interface LossEvidence {
  /** false when eBPF is unavailable: the verdict is always unknown */
  available: boolean;
  /** netns inode of the probe host: drops elsewhere (a lab router, a container) are not local */
  localNetns: number;
  /** events of this probe's flow (any order) */
  events: readonly BpfEvent[];
  /** ICMP echo sequence of the lost probe: only events of that sequence count */
  seq?: number;
  /** what the XDP observer recorded of this probe's replies (null: nothing reached the NIC) */
  seen?: SeenRecord | null;
  /**
   * false when the ring buffer could not be read up to now in time (DropTracer.drain): a drop may be
   * among the unread events, so "none seen" proves nothing and the verdict is unknown, not path_loss
   */
  drained?: boolean;
}

function sameProbe(e: BpfEvent, seq: number | undefined): boolean {
  return seq === undefined || e.icmpSeq === undefined || e.icmpSeq === seq;
}

export function classifyLoss(ev: LossEvidence): Attribution {
  const base: Attribution = ev.seq === undefined ? { verdict: 'unknown' } : { seq: ev.seq, verdict: 'unknown' };
  if (!ev.available) return base;
  const mine = ev.events.filter((e) => sameProbe(e, ev.seq));
  const drops = mine.filter((e) => e.kind === 'drop' && e.netns === ev.localNetns).sort((a, b) => a.time - b.time);
  if (drops.length > 0) {
    // The first drop is the cause: an egress drop means no request left, so any later event is moot.
    const d = drops[0];
    const out: Attribution = { ...base, verdict: 'local_drop', reason: d.reason, location: d.location, ifindex: d.ifindex };
    if (d.direction !== 'unknown') out.direction = d.direction;
    return out;
  }
  if (ev.drained === false || ev.seen || mine.some((e) => e.kind === 'xdp')) return base;
  return { ...base, verdict: 'path_loss' };
}

/**
 * Whether the reply was seen at XDP before the first ingress drop (the "seen by XDP first" check): the
 * seen map's first timestamp, or XDP events, against the drop events' timestamps (one clock: both are
 * bpf_ktime_get_ns()).
 */
export function xdpSawReplyBeforeDrop(events: readonly BpfEvent[], seq?: number, seen?: SeenRecord | null): boolean {
  const mine = events.filter((e) => sameProbe(e, seq));
  const xdp = mine.filter((e) => e.kind === 'xdp').map((e) => e.time);
  if (seen) xdp.push(seen.firstTime);
  const drop = mine.filter((e) => e.kind === 'drop' && e.direction === 'ingress').map((e) => e.time);
  return xdp.length > 0 && drop.length > 0 && Math.min(...xdp) <= Math.min(...drop);
}
