// The JSON shape of a result, shared by `sonde probe --json`, the /results endpoint and logs. The
// prober's own facts come from its descriptor's json(), so no prober's facts can go missing here.
import { proberFor } from '../probers/index';
import type { ProbeResult } from '../result';
import { round, roundPhases } from './json_numbers';

export function resultToJSON(r: ProbeResult): Record<string, unknown> {
  return {
    target: r.target,
    module: r.module,
    prober: r.prober,
    success: r.success,
    reason: r.reason ?? null,
    message: r.message ?? null,
    started_at: new Date(r.startedAt).toISOString(),
    duration_seconds: round(r.durationSeconds),
    phases: roundPhases(r.phases),
    address: r.address ?? null,
    ip_protocol: r.ipProtocol ?? null,
    ...(r.resolver ? { resolver: r.resolver } : {}),
    tls: r.tls ?? null,
    ...proberFor(r.prober)?.json(r),
    ...(r.attribution ? { attribution: r.attribution } : {}),
    ...(r.perAddress ? { per_address: r.perAddress.map(resultToJSON) } : {}),
  };
}
