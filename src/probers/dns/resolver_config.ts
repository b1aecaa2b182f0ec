// The dns_resolver key of the http, tcp, icmp and trace sections (sonde): the DNS server, and its
// transport, that resolves the module's targets instead of the system resolver (blackbox #577,
// #1275, #1356 ask for it).
//   dns_resolver: {server: "10.0.0.53", transport: udp}       # tcp, tls (DoT), https (DoH)
import { defaultTLS } from '../../config/defaults';
import { oneOf, str, struct } from '../../config/schema';
import { tlsConfig } from '../../config/schema_shared';
import type { DNSResolverConfig } from '../../config/types';
import { checkDNSTarget } from './target';

export const dohPath = str({ check: (p) => (p.startsWith('/') && !/[\s?#]/.test(p) ? undefined : 'a URL path starting with / (no query, no spaces)') });

export const dnsResolverSection = struct<DNSResolverConfig>({
  fields: {
    server: str({ check: (s) => (s.includes('@') ? 'a DNS server as host, host:port or [v6]:port' : checkDNSTarget(s)) }),
    transport: oneOf(['udp', 'tcp', 'tls', 'https'] as const),
    tls_config: tlsConfig,
    doh_path: dohPath,
  },
  defaults: () => ({ server: '', transport: 'udp', tls_config: defaultTLS(), doh_path: '/dns-query' }),
  required: ['server'],
});
