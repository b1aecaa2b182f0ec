// /probe series of blackbox_exporter's grpc prober (prober/grpc.go): names, labels and help as it
// registers them; the serving_status series are pre-set to 0 for every status it knows.
import type { ProbeRegistry as Registry } from '../../outputs/blackbox/registry';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { gauge, writeResolve } from '../../outputs/blackbox/common';
import { GRPC_TLS, writeTLS } from '../../outputs/blackbox/tls';
import { SERVING_STATUS } from './health';

export function writeGRPC(result: ProbeResult, _module: Module, reg: Registry): void {
  writeResolve(result, reg);
  const phases = reg.gauge('probe_grpc_duration_seconds', 'Duration of gRPC request by phase', ['phase']);
  phases.set({ phase: 'resolve' }, result.phases.resolve ?? 0);
  if (result.phases.check !== undefined) phases.set({ phase: 'check' }, result.phases.check);
  const g = result.grpc;
  // blackbox sets the status series only once the check ran (after a successful resolve).
  const ran = result.phases.check !== undefined;
  const health = reg.gauge('probe_grpc_healthcheck_response', 'Response HealthCheck response', ['serving_status']);
  if (ran) for (const s of SERVING_STATUS) health.set({ serving_status: s }, g?.servingStatus === s ? 1 : 0);
  gauge(reg, 'probe_grpc_ssl', 'Indicates if SSL was used for the connection', g?.ssl ? 1 : 0);
  gauge(reg, 'probe_grpc_status_code', 'Response gRPC status code', g?.statusCode ?? 0);
  if (result.tls && g?.ssl) writeTLS(result.tls, reg, GRPC_TLS);
}
