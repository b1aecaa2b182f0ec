// The SYN engine of a runtime (src/runtime.ts syn(), wrapping native/syn), reached in one place so
// that `sonde scan` and the tcp_syn prober name its absence the same way.
import type { SynEngine } from '../native/syn_types';
import type { Runtime } from '../runtime';

export class SynUnavailableError extends Error {
  readonly code = 'ERR_SYN_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'SynUnavailableError';
  }
}

/** The runtime's SYN engine; throws SynUnavailableError when this build has none, or what opening it throws (no raw sockets). */
export function synEngineOf(runtime: Runtime): SynEngine {
  const syn = (runtime as unknown as { syn?: () => SynEngine }).syn;
  if (typeof syn !== 'function') throw new SynUnavailableError('this build of sonde has no SYN scan engine (src/native/syn.ts)');
  return syn.call(runtime);
}
