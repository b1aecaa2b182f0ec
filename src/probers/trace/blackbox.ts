// /probe series of the trace prober (sonde only; blackbox_exporter has no path probing): per-hop
// loss and RTT labelled by TTL and the hop's address, the hop count, whether the target answered,
// and the path hash (the lead's sonde_trace_path_changes_total counts its changes across probes).
import type { ProbeRegistry as Registry } from '../../outputs/blackbox/registry';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { gauge, writeResolve } from '../../outputs/blackbox/common';

export function writeTrace(result: ProbeResult, _module: Module, reg: Registry): void {
  writeResolve(result, reg);
  const t = result.trace;
  gauge(reg, 'sonde_trace_reached', 'Whether the target answered the trace (1) or not (0)', t?.reached ? 1 : 0);
  if (!t) return;
  gauge(reg, 'sonde_trace_hops', 'Hops to the target (TTL at which it answered), or hops shown when not reached', t.hops.length ? t.hops[t.hops.length - 1].ttl : 0);
  gauge(reg, 'sonde_trace_path_hash', 'FNV-1a hash of the addresses seen per TTL; changes when the path does', t.pathHash);
  // One series per TTL: labelled with the address that answered most (a silent hop: "*"), so
  // ECMP does not multiply series; sonde_trace_hop_addresses says how many answered.
  const loss = reg.gauge('sonde_trace_hop_loss_ratio', 'Share of probes at this TTL without an answer (0..1)', ['ttl', 'address']);
  const addrs = reg.gauge('sonde_trace_hop_addresses', 'Distinct addresses that answered at this TTL (more than 1: multipath)', ['ttl']);
  const rtt = reg.gauge('sonde_trace_hop_rtt_seconds', 'Round-trip time statistics of the answers at this TTL', ['ttl', 'address', 'stat']);
  for (const h of t.hops) {
    const labels = { ttl: String(h.ttl), address: h.addresses[0] ?? '*' };
    loss.set(labels, h.loss);
    addrs.set({ ttl: labels.ttl }, h.addresses.length);
    if (!h.rtt) continue;
    for (const [stat, v] of Object.entries(h.rtt)) rtt.set({ ...labels, stat }, v);
  }
}
