// The trace prober: continuous path monitoring. Each probe is a short Paris traceroute (rounds of
// TTL-limited probes, flow identifiers stable from probe to probe so ECMP keeps one path) whose
// per-hop loss, RTT and addresses land in result.trace; result.trace.pathHash changes with the path.
// Success: the target answered. A path that dies before it is a result (trace_incomplete).
import { performance } from 'node:perf_hooks';
import { defaultTrace } from '../../config/defaults';
import { TraceSocketError } from '../../native/trace';
import type { ProbeResult } from '../../result';
import { failResult, ProbeFailure } from '../errors';
import { resolverFor } from '../dns/resolver';
import { resolveForProbe } from '../resolve';
import { runTrace } from './run';
import type { Prober } from '../types';

export const probeTrace: Prober = async (target, module, ctx) => {
  const t0 = performance.now();
  const cfg = module.trace ?? defaultTrace();
  const result: ProbeResult = {
    target,
    module: module.name,
    prober: 'trace',
    success: false,
    startedAt: Date.now(),
    durationSeconds: 0,
    phases: { resolve: 0, trace: 0 },
  };
  try {
    const resolved = await resolveForProbe(target, cfg.preferred_ip_protocol, cfg.ip_protocol_fallback, ctx, resolverFor(cfg.dns_resolver, ctx.runtime, ctx.gate), result);
    const address = resolved.addresses[0];
    let engine;
    try {
      engine = ctx.runtime.trace();
    } catch (err) {
      if (err instanceof TraceSocketError) throw new ProbeFailure('network_error', err.message);
      throw err;
    }
    const traceStart = performance.now();
    // Every round must end before the deadline: probes wait at most what is left after the last round starts.
    const roundsSpan = (cfg.rounds - 1) * cfg.interval;
    const left = (ctx.deadline - performance.now()) / 1000;
    const facts = await runTrace(engine, address, {
      proto: cfg.protocol,
      port: cfg.port,
      firstTtl: cfg.first_ttl,
      maxTtl: cfg.max_ttl,
      rounds: cfg.rounds,
      interval: cfg.interval,
      timeout: Math.max(0.001, Math.min(1, left - roundsSpan)),
      flows: cfg.flows,
      payloadSize: cfg.payload_size,
      deadline: ctx.deadline,
      signal: ctx.signal,
    });
    result.phases.trace = (performance.now() - traceStart) / 1000;
    result.trace = facts;
    if (facts.hops.every((h) => h.sent === 0)) throw new ProbeFailure('timeout', 'no time left before the deadline to send a probe');
    if (!facts.reached) {
      const answered = facts.hops.filter((h) => h.received > 0);
      const last = answered[answered.length - 1];
      const where = last ? `last answer at TTL ${last.ttl} from ${last.addresses.join(', ')}` : 'no hop answered';
      throw new ProbeFailure('trace_incomplete', `${address} not reached within TTL ${cfg.max_ttl} over ${cfg.protocol} (${where})`);
    }
    result.success = true;
  } catch (err) {
    failResult(result, err);
  }
  result.durationSeconds = (performance.now() - t0) / 1000;
  return result;
};
