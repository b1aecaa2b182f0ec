// /probe series of the tcp_syn prober (sonde only; blackbox has no SYN scan): each port's state as
// an enum (1 for the current state, 0 for the other two, so every port shows all three), the RTT
// and reply TTL of answered ports, and the packets of the probe.
import type { ProbeRegistry as Registry } from '../../outputs/blackbox/registry';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { gaugeVec, writeResolve } from '../../outputs/blackbox/common';

export const PORT_STATES = ['open', 'closed', 'filtered'] as const;

export function writeTCPSyn(result: ProbeResult, _module: Module, reg: Registry): void {
  writeResolve(result, reg);
  gaugeVec(reg, 'probe_tcp_syn_duration_seconds', 'Duration of the tcp_syn probe by phase', 'phase', { resolve: result.phases.resolve ?? 0, scan: result.phases.scan ?? 0 });
  const facts = result.tcpSyn;
  if (!facts) return;
  const state = reg.gauge('sonde_port_state', 'State of the port as a SYN half-open scan saw it (1 for the current state: open, closed, filtered)', ['port', 'state']);
  const rtt = reg.gauge('sonde_port_rtt_seconds', 'Round trip from the SYN to its answer (SYN-ACK, RST or ICMP)', ['port']);
  const ttl = reg.gauge('sonde_port_reply_ttl', 'TTL (hop limit) of the answer to the SYN', ['port']);
  for (const p of facts.ports) {
    const port = String(p.port);
    for (const s of PORT_STATES) state.set({ port, state: s }, s === p.state ? 1 : 0);
    if (p.rtt !== undefined) rtt.set({ port }, p.rtt);
    if (p.ttl !== undefined) ttl.set({ port }, p.ttl);
  }
  gaugeVec(reg, 'sonde_tcp_syn_packets', 'Packets of the probe: SYNs sent (retries included), answers validated, answers that did not validate', 'kind', {
    sent: facts.sent,
    validated: facts.validated,
    foreign: facts.foreign,
  });
}
