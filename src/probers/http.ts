// Placeholder until the HTTP prober lands.
import type { Prober } from './types';

export const probeHTTP: Prober = async (target, module) => ({
  target,
  module: module.name,
  prober: 'http',
  success: false,
  reason: 'internal',
  message: 'the http prober is not built yet',
  startedAt: Date.now(),
  durationSeconds: 0,
  phases: {},
});
