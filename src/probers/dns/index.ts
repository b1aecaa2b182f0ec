// The dns prober (blackbox_exporter's dns, plus EDNS0, DoH, TCP retry and EDNS fallback): one
// descriptor, registered in src/probers/index.ts.
import { probeOnFirstUse, type ProberDescriptor } from '../descriptor';
import { writeDNS } from './blackbox';
import { dnsSection } from './config';
import { checkDNSTarget } from './target';

export const dnsProber: ProberDescriptor<'dns'> = {
  name: 'dns',
  config: dnsSection,
  checkTarget: checkDNSTarget,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first probe (descriptor.ts)
  probe: probeOnFirstUse(() => (require('./probe') as typeof import('./probe')).probeDNS),
  // DoT with tls_resume or reuse_connections stays: its sessions and connections are per thread, and a worker's would miss them.
  offload: (_target, m) => m.dns.dns_over_https || (m.dns.dns_over_tls && !m.dns.tls_resume && !m.dns.reuse_connections),
  writeBlackbox: writeDNS,
  json: (r) => (r.dns ? { dns: r.dns } : {}),
  taskMetrics: [],
};
