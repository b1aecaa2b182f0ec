// The http prober (blackbox_exporter's http): one descriptor, registered in src/probers/index.ts.
import { roundPhases } from '../../outputs/json_numbers';
import { probeOnFirstUse, type ProberDescriptor } from '../descriptor';
import { writeHTTP } from './blackbox';
import { checkHTTPTarget, httpSection } from './config';
import { hasBodyRules } from './rules';

export const httpProber: ProberDescriptor<'http'> = {
  name: 'http',
  config: httpSection,
  checkTarget: checkHTTPTarget,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first probe (descriptor.ts)
  probe: probeOnFirstUse(() => (require('./probe') as typeof import('./probe')).probeHTTP),
  // TLS (a redirect to https too is rare enough to run where it lands) and body rules cost CPU.
  offload: (target, m) => /^https:/i.test(target) || hasBodyRules(m.http),
  writeBlackbox: writeHTTP,
  json: (r) => (r.http ? { http: { ...r.http, hops: r.http.hops.map((h) => ({ ...h, phases: roundPhases(h.phases) })) } } : {}),
  taskMetrics: [],
};
