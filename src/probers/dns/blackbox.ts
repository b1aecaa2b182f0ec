// /probe series of blackbox_exporter's dns prober (prober/dns.go), then sonde's own (sonde_dns_*).
import type { Module } from '../../config/types';
import { gauge, gaugeVec, writeResolve } from '../../outputs/blackbox/common';
import type { ProbeRegistry as Registry } from '../../outputs/blackbox/registry';
import type { DNSFacts, ProbeResult } from '../../result';

function writeExtras(d: DNSFacts, reg: Registry): void {
  gauge(reg, 'sonde_dns_rcode', 'The rcode of the DNS answer (12 bits, EDNS extended rcode included)', d.rcode ?? 0);
  if (d.flags) {
    const g = reg.gauge('sonde_dns_flag', 'Header flags of the DNS answer (1 set, 0 clear)', ['flag']);
    const f = d.flags;
    for (const flag in f) g.setLabel(flag, f[flag as keyof typeof f] ? 1 : 0);
  }
  if (d.ednsPayloadSize !== undefined) gauge(reg, 'sonde_dns_edns_udp_payload_size', 'UDP payload size the server advertised in its OPT record', d.ednsPayloadSize);
  if (d.ecsScope !== undefined) gauge(reg, 'sonde_dns_ecs_scope_prefix_length', 'ECS scope prefix length the server returned (RFC 7871)', d.ecsScope);
  gauge(reg, 'sonde_dns_rrsig_present', 'Whether an RRSIG came in the answer or authority section', d.rrsig ? 1 : 0);
  gauge(reg, 'sonde_dns_edns_broken', 'Whether the server failed the EDNS query and answered without EDNS', d.ednsBroken ? 1 : 0);
  gauge(reg, 'sonde_dns_tcp_retry', 'Whether a truncated UDP answer was asked again over TCP', d.tcpRetry ? 1 : 0);
  if (d.tlsResumed !== undefined) gauge(reg, 'sonde_dns_tls_resumed', 'Whether the DoT server resumed the TLS session offered (tls_resume)', d.tlsResumed ? 1 : 0);
  if (d.connectionReused !== undefined) gauge(reg, 'sonde_dns_connection_reused', 'Whether the query went on a connection kept from an earlier probe (reuse_connections)', d.connectionReused ? 1 : 0);
  if (d.httpVersion !== undefined) gauge(reg, 'sonde_dns_doh_http_version', 'HTTP version of the DoH response', d.httpVersion);
}

export function writeDNS(result: ProbeResult, _module: Module, reg: Registry): void {
  writeResolve(result, reg);
  const d = result.dns;
  const p = result.phases;
  // Pre-seeded as blackbox does, so a failed probe still exposes every phase.
  gaugeVec(reg, 'probe_dns_duration_seconds', 'Duration of DNS request by phase', 'phase', { resolve: p.resolve ?? 0, connect: p.connect ?? 0, request: p.request ?? 0 });
  gauge(reg, 'probe_dns_answer_rrs', 'Returns number of entries in the answer resource record list', d?.answerRRs ?? 0);
  gauge(reg, 'probe_dns_authority_rrs', 'Returns number of entries in the authority resource record list', d?.authorityRRs ?? 0);
  gauge(reg, 'probe_dns_additional_rrs', 'Returns number of entries in the additional resource record list', d?.additionalRRs ?? 0);
  gauge(reg, 'probe_dns_query_succeeded', 'Displays whether or not the query was executed successfully', d?.querySucceeded ? 1 : 0);
  // Registered only once an answer came, for query_type SOA; 0 when the answer had no SOA.
  if (d?.queryType === 'SOA' && d.querySucceeded) gauge(reg, 'probe_dns_serial', 'Returns the serial number of the zone', d.serial ?? 0);
  if (d?.querySucceeded) writeExtras(d, reg);
}
