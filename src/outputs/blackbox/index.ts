// Renders one ProbeResult as blackbox_exporter's /probe series, on a fresh registry per request,
// so dashboards and alerts written for blackbox_exporter work unchanged. Each prober's own series
// are its descriptor's writeBlackbox (src/probers/<name>/blackbox.ts).
import { ProbeRegistry as Registry } from './registry';
import type { Module } from '../../config/types';
import { proberFor } from '../../probers/index';
import type { ProbeResult } from '../../result';
import { writeCommon } from './common';

export function renderProbe(result: ProbeResult, module: Module): Registry {
  const reg = new Registry();
  proberFor(module.prober)?.writeBlackbox(result, module, reg);
  writeCommon(result, reg);
  return reg;
}
