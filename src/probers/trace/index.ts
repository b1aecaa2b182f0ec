// The trace prober (sonde's continuous Paris traceroute): one descriptor, registered in
// src/probers/index.ts.
import { hostTarget } from '../../config/schema_values';
import type { ProberDescriptor } from '../descriptor';
import { writeTrace } from './blackbox';
import { traceSection } from './config';
import { traceJSON } from './json';
import { probeTrace } from './probe';

export const traceProber: ProberDescriptor<'trace'> = {
  name: 'trace',
  config: traceSection,
  checkTarget: hostTarget,
  probe: probeTrace,
  writeBlackbox: writeTrace,
  json: (r) => (r.trace ? { trace: traceJSON(r.trace) } : {}),
  taskMetrics: [],
};
