// The websocket prober (blackbox main's websocket: ws:// and wss:// with a message dialogue, over
// the `ws` library): one descriptor, registered in src/probers/index.ts.
import { probeOnFirstUse, type ProberDescriptor } from '../descriptor';
import { writeWebsocket } from './blackbox';
import { checkWebsocketTarget, websocketSection } from './config';

export const websocketProber: ProberDescriptor<'websocket'> = {
  name: 'websocket',
  config: websocketSection,
  checkTarget: checkWebsocketTarget,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first probe (descriptor.ts)
  probe: probeOnFirstUse(() => (require('./probe') as typeof import('./probe')).probeWebsocket),
  offload: (target) => /^wss:/i.test(target),
  writeBlackbox: writeWebsocket,
  json: (r) => (r.websocket ? { websocket: r.websocket } : {}),
  taskMetrics: [],
};
