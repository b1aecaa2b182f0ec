// The registry of probers: a literal map, as blackbox_exporter's. Adding a prober is one file
// plus one line here (and a writer in outputs/blackbox/ for its /probe series).
import type { ProberName } from '../config/types';
import type { Prober } from './types';
import { probeHTTP } from './http/probe';
import { probeTCP } from './tcp/probe';
import { probeICMP } from './icmp/probe';
import { probeTrace } from './trace/probe';

export const PROBERS: Partial<Record<ProberName, Prober>> = {
  http: probeHTTP,
  tcp: probeTCP,
  icmp: probeICMP,
  trace: probeTrace,
};
