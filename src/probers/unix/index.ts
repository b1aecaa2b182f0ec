// The unix prober (blackbox main's unix: a stream socket and the query_response dialogue): one
// descriptor, registered in src/probers/index.ts.
import { probeOnFirstUse, type ProberDescriptor } from '../descriptor';
import { writeDialogue } from '../tcp/blackbox';
import { checkUnixTarget, unixSection } from './config';

export const unixProber: ProberDescriptor<'unix'> = {
  name: 'unix',
  config: unixSection,
  checkTarget: checkUnixTarget,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first probe (descriptor.ts)
  probe: probeOnFirstUse(() => (require('./probe') as typeof import('./probe')).probeUnix),
  writeBlackbox: (result, _module, reg) => writeDialogue(result, reg, true),
  json: (r) => (r.tcp ? { unix: r.tcp } : {}),
  taskMetrics: [],
};
