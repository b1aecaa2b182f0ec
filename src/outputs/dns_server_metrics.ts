// The rolling DNS server health of src/health/dns_servers.ts on /metrics: one gauge family per
// figure, labelled by server (as the targets name it) and transport, computed at scrape time.
// A ratio nothing in the window asked (no EDNS, no ECS, no DO bit, no DoT/DoH) is left out.
import { Gauge, type Registry } from './prom_client';
import type { DNSServerStats, DNSServerWindow } from '../health/dns_servers';

type Pick = (s: DNSServerStats) => number | undefined;

const FAMILIES: Array<{ name: string; help: string; value: Pick }> = [
  { name: 'sonde_dns_server_window_probes', help: 'dns probes of the server in the rolling window', value: (s) => s.probes },
  { name: 'sonde_dns_server_success_ratio', help: 'Share of the window\'s dns probes the server answered with NOERROR or NXDOMAIN', value: (s) => s.successRatio },
  { name: 'sonde_dns_server_edns_failure_ratio', help: 'Share of the window\'s EDNS queries that failed and were answered only without EDNS', value: (s) => s.ednsFailureRatio },
  { name: 'sonde_dns_server_ecs_adoption_ratio', help: 'Share of the window\'s answers to ECS queries that carried a scope prefix', value: (s) => s.ecsAdoptionRatio },
  { name: 'sonde_dns_server_handshake_success_ratio', help: 'Share of the window\'s DoT/DoH probes whose TLS session was set up', value: (s) => s.handshakeSuccessRatio },
  { name: 'sonde_dns_server_dnssec_ad_ratio', help: 'Share of the window\'s answers to queries with the DO bit that had AD set', value: (s) => s.dnssecADRatio },
  { name: 'sonde_dns_server_health_score', help: 'Composite 0-100 health of the DNS server over the rolling window (README "DNS server health")', value: (s) => s.score },
];

export function registerDNSServerMetrics(reg: Registry, window: DNSServerWindow, now: () => number = Date.now): void {
  // One computation per scrape serves every family: the first family's collect makes it.
  let scrape: DNSServerStats[] = [];
  new Gauge({
    name: 'sonde_dns_server_latency_seconds',
    help: 'Answer time of the server over the rolling window (answered probes), by quantile',
    labelNames: ['server', 'transport', 'quantile'],
    registers: [reg],
    collect() {
      scrape = window.stats(now());
      this.reset();
      for (const s of scrape) {
        if (s.p50 !== undefined) this.set({ server: s.server, transport: s.transport, quantile: '0.5' }, s.p50);
        if (s.p95 !== undefined) this.set({ server: s.server, transport: s.transport, quantile: '0.95' }, s.p95);
      }
    },
  });
  for (const f of FAMILIES) {
    new Gauge({
      name: f.name,
      help: f.help,
      labelNames: ['server', 'transport'],
      registers: [reg],
      collect() {
        this.reset();
        for (const s of scrape) {
          const v = f.value(s);
          if (v !== undefined) this.set({ server: s.server, transport: s.transport }, v);
        }
      },
    });
  }
}
