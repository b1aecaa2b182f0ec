// Renders one ProbeResult as blackbox_exporter's /probe series, on a fresh registry per request,
// so dashboards and alerts written for blackbox_exporter work unchanged.
import { ProbeRegistry as Registry } from './registry';
import type { Module, ProberName } from '../../config/types';
import type { ProbeResult } from '../../result';
import { writeCommon } from './common';
import { writeHTTP } from '../../probers/http/blackbox';
import { writeTCP } from '../../probers/tcp/blackbox';
import { writeICMP } from '../../probers/icmp/blackbox';
import { writeTrace } from '../../probers/trace/blackbox';

export type BlackboxWriter = (result: ProbeResult, module: Module, reg: Registry) => void;

const WRITERS: Partial<Record<ProberName, BlackboxWriter>> = {
  http: writeHTTP,
  tcp: writeTCP,
  icmp: writeICMP,
  trace: writeTrace,
};

export function renderProbe(result: ProbeResult, module: Module): Registry {
  const reg = new Registry();
  WRITERS[module.prober]?.(result, module, reg);
  writeCommon(result, reg);
  return reg;
}
