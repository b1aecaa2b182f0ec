// blackbox_exporter's icmp series (probe_icmp_duration_seconds by phase, reply hop limit) plus
// sonde's round statistics (sonde_icmp_*), which blackbox has no equivalent for.
import type { ProbeRegistry as Registry } from '../../outputs/blackbox/registry';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { gauge, gaugeVec, writeResolve } from '../../outputs/blackbox/common';

export function writeICMP(result: ProbeResult, _module: Module, reg: Registry): void {
  writeResolve(result, reg);
  // All three phases are always present (0 when not reached), as blackbox pre-seeds them.
  gaugeVec(reg, 'probe_icmp_duration_seconds', 'Duration of icmp request by phase', 'phase', {
    resolve: result.phases.resolve ?? 0,
    setup: result.phases.setup ?? 0,
    rtt: result.phases.rtt ?? 0,
  });
  const icmp = result.icmp;
  if (!icmp) return;
  if (icmp.replyHopLimit !== undefined) {
    gauge(reg, 'probe_icmp_reply_hop_limit', 'Replied packet hop limit (TTL for ipv4)', icmp.replyHopLimit);
  }
  gauge(reg, 'sonde_icmp_packets_sent', 'Echo requests sent in this probe', icmp.sent);
  gauge(reg, 'sonde_icmp_packets_received', 'Echo replies received in this probe (duplicates excluded)', icmp.received);
  gauge(reg, 'sonde_icmp_duplicates', 'Duplicate echo replies received in this probe', icmp.duplicates);
  gauge(reg, 'sonde_icmp_packet_loss_ratio', 'Share of echo requests without a reply (0..1)', icmp.loss);
  if (icmp.rtt) {
    const { min, median, mean, max, stddev } = icmp.rtt;
    gaugeVec(reg, 'sonde_icmp_rtt_seconds', 'Round-trip time statistics over the echoes of this probe', 'stat', { min, median, mean, max, stddev });
  }
}
