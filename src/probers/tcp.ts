// Placeholder until the TCP prober lands.
import type { Prober } from './types';

export const probeTCP: Prober = async (target, module) => ({
  target,
  module: module.name,
  prober: 'tcp',
  success: false,
  reason: 'internal',
  message: 'the tcp prober is not built yet',
  startedAt: Date.now(),
  durationSeconds: 0,
  phases: {},
});
