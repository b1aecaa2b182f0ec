// Placeholder until the ICMP prober lands.
import type { Prober } from './types';

export const probeICMP: Prober = async (target, module) => ({
  target,
  module: module.name,
  prober: 'icmp',
  success: false,
  reason: 'internal',
  message: 'the icmp prober is not built yet',
  startedAt: Date.now(),
  durationSeconds: 0,
  phases: {},
});
