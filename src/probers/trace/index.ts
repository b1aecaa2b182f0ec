// The trace prober (sonde's continuous Paris traceroute): one descriptor, registered in
// src/probers/index.ts.
import { hostTarget } from '../../config/schema_values';
import { probeOnFirstUse, type ProberDescriptor } from '../descriptor';
import { writeTrace } from './blackbox';
import { traceSection } from './config';
import { traceJSON } from './json';

export const traceProber: ProberDescriptor<'trace'> = {
  name: 'trace',
  config: traceSection,
  checkTarget: hostTarget,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first probe (descriptor.ts)
  probe: probeOnFirstUse(() => (require('./probe') as typeof import('./probe')).probeTrace),
  writeBlackbox: writeTrace,
  json: (r) => (r.trace ? { trace: traceJSON(r.trace) } : {}),
  taskMetrics: [],
};
