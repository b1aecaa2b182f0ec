// The JSON shape of a result, shared by `sonde probe --json`, the /results endpoint and logs.
import type { ProbeResult } from '../result';

function round(n: number): number {
  return Math.round(n * 1e9) / 1e9; // nanosecond precision is all a clock here gives
}

function roundPhases(p: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, round(v)]));
}

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
    tls: r.tls ?? null,
    ...(r.http ? { http: { ...r.http, hops: r.http.hops.map((h) => ({ ...h, phases: roundPhases(h.phases) })) } } : {}),
    ...(r.tcp ? { tcp: r.tcp } : {}),
    ...(r.icmp ? { icmp: r.icmp } : {}),
    ...(r.attribution ? { attribution: r.attribution } : {}),
    ...(r.perAddress ? { per_address: r.perAddress.map(resultToJSON) } : {}),
  };
}
