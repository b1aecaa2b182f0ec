// The JSON form of a trace: one object per TTL, the same for `sonde trace --json` and for results
// (`sonde probe --json`, /results, logs).
import type { TraceFacts, TraceHop } from '../../result';

export function traceHopJSON(h: TraceHop): Record<string, unknown> {
  return { ttl: h.ttl, addresses: h.addresses, multipath: h.multipath, sent: h.sent, received: h.received, loss: h.loss, rtt: h.rtt ?? null, last: h.last ?? null, rate_limited: h.rateLimited === true };
}

export function traceJSON(t: TraceFacts): Record<string, unknown> {
  return {
    proto: t.proto,
    reached: t.reached,
    flows: t.flows,
    multipath: t.hops.some((h) => h.multipath),
    path_hash: t.pathHash,
    hops: t.hops.map(traceHopJSON),
  };
}
