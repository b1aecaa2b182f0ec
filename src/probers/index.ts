// The registry of probers: a literal map, as blackbox_exporter's, one line per prober. Adding a
// prober is one folder (src/probers/<name>/, exporting its descriptor) plus one line here; every
// other list of probers (module sections, target checks, tasks' probers, /probe writers, JSON,
// task metrics) is derived from these two tables.
import type { ProberName } from '../config/types';
import type { ModuleSection, ProberDescriptor } from './descriptor';
import { grpcSection } from './grpc/config';
// Folders are imported by their index file by name: a stale dist/src/probers/http.js of an older
// build would otherwise win over http/index.js.
import { dnsProber } from './dns/index';
import { httpProber } from './http/index';
import { icmpProber } from './icmp/index';
import { tcpProber } from './tcp/index';
import { tcpSynProber } from './tcp_syn/index';
import { traceProber } from './trace/index';

/** The probers sonde runs. */
export const PROBERS = {
  http: httpProber,
  tcp: tcpProber,
  icmp: icmpProber,
  trace: traceProber,
  dns: dnsProber,
  tcp_syn: tcpSynProber,
} as const satisfies { [K in ProberName]?: ProberDescriptor<K> };

export type RunnableProber = keyof typeof PROBERS;

/**
 * Probers blackbox modules may name that sonde cannot run yet: their sections decode (a blackbox
 * config loads unchanged) and tasks using them are refused. Every ProberName is in one table or the
 * other (the type says so).
 */
export const NOT_YET_AVAILABLE = {
  grpc: grpcSection,
} as const satisfies { [K in Exclude<ProberName, RunnableProber>]: ModuleSection<K> };

export const RUNNABLE_PROBERS = Object.keys(PROBERS) as RunnableProber[];

/** Every prober a module may name: the runnable ones first. */
export const PROBER_NAMES = [...RUNNABLE_PROBERS, ...Object.keys(NOT_YET_AVAILABLE)] as ProberName[];

/** The descriptor of a prober sonde runs; undefined for any other name. */
export function proberFor(name: string): ProberDescriptor | undefined {
  return Object.hasOwn(PROBERS, name) ? PROBERS[name as RunnableProber] : undefined;
}

/** The decoder of a prober's module section, runnable or not. */
export function moduleSection(name: ProberName): ModuleSection {
  return proberFor(name)?.config ?? NOT_YET_AVAILABLE[name as Exclude<ProberName, RunnableProber>];
}
