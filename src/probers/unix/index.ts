// The unix prober (blackbox main's unix: a stream socket and the query_response dialogue): one
// descriptor, registered in src/probers/index.ts.
import type { ProberDescriptor } from '../descriptor';
import { writeDialogue } from '../tcp/blackbox';
import { checkUnixTarget, unixSection } from './config';
import { probeUnix } from './probe';

export const unixProber: ProberDescriptor<'unix'> = {
  name: 'unix',
  config: unixSection,
  checkTarget: checkUnixTarget,
  probe: probeUnix,
  writeBlackbox: (result, _module, reg) => writeDialogue(result, reg, true),
  json: (r) => (r.tcp ? { unix: r.tcp } : {}),
  taskMetrics: [],
};
