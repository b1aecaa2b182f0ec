// The tcp prober (blackbox_exporter's tcp, query_response and TLS): one descriptor, registered in
// src/probers/index.ts.
import { probeOnFirstUse, type ProberDescriptor } from '../descriptor';
import { writeTCP } from './blackbox';
import { checkTCPTarget, tcpSection } from './config';

export const tcpProber: ProberDescriptor<'tcp'> = {
  name: 'tcp',
  config: tcpSection,
  checkTarget: checkTCPTarget,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first probe (descriptor.ts)
  probe: probeOnFirstUse(() => (require('./probe') as typeof import('./probe')).probeTCP),
  offload: (_target, m) => m.tcp.tls || m.tcp.query_response.some((q) => q.starttls),
  writeBlackbox: writeTCP,
  json: (r) => (r.tcp ? { tcp: r.tcp } : {}),
  taskMetrics: [],
};
