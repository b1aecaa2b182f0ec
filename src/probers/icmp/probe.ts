// The icmp prober: blackbox_exporter's icmp module (one echo, phases resolve/setup/rtt) extended
// with SmokePing-style rounds (`pings`, `interval`) measured by the native engine with kernel
// timestamps. Unanswered echoes are results (packet_loss), ICMP errors name what the path said.
import { performance } from 'node:perf_hooks';
import type { ICMPModule } from '../../config/types';
import { IcmpSocketError, type IcmpOutcome } from '../../native/icmp';
import { addressBytes } from '../../native/ipaddr';
import type { FailureReason, ProbeResult } from '../../result';
import { failResult, ProbeFailure } from '../errors';
import { echoRounds, rttStats } from './round';
import { resolverFor } from '../dns/resolver';
import { resolveForProbe } from '../resolve';
import { errnoText } from '../../util/errno';
import type { Prober } from '../types';

// errno values the kernel returns for a refused send (asm-generic/errno.h).
const ENETUNREACH = 101;
const EHOSTUNREACH = 113;

/** Maps an ICMP error (or refused send) to a reason and a line for logs. */
export function errorReason(o: IcmpOutcome): { reason: FailureReason; message: string } {
  const by = o.from ? ` from ${o.from}` : '';
  switch (o.kind) {
    case 'unreachable':
      return { reason: 'icmp_unreachable', message: `destination unreachable (code ${o.code})${by}` };
    case 'packet_too_big':
      return { reason: 'icmp_unreachable', message: `packet too big, next-hop MTU ${o.info}${by}` };
    case 'time_exceeded':
      return { reason: 'icmp_time_exceeded', message: `time exceeded (code ${o.code})${by}` };
    case 'parameter_problem':
      return { reason: 'protocol_error', message: `parameter problem at byte ${o.info}${by}` };
    case 'shed':
      return { reason: 'shed', message: "shed: the ICMP engine's queue for the probe's QoS class was past its bound" };
    default:
      if (o.info === ENETUNREACH || o.info === EHOSTUNREACH) return { reason: 'unreachable', message: `send failed: ${errnoText(o.info)}` };
      return { reason: 'network_error', message: `send failed: ${errnoText(o.info)}` };
  }
}

function checkSource(cfg: ICMPModule, family: 4 | 6): string | undefined {
  if (!cfg.source_ip_address) return undefined;
  let parsed: { family: 4 | 6 };
  try {
    parsed = addressBytes(cfg.source_ip_address);
  } catch {
    throw new ProbeFailure('config', `source_ip_address ${cfg.source_ip_address} is not an IP address`);
  }
  if (parsed.family !== family) {
    throw new ProbeFailure('config', `source_ip_address ${cfg.source_ip_address} is not IPv${family} like the target`);
  }
  return cfg.source_ip_address;
}

export const probeICMP: Prober = async (target, module, ctx) => {
  const t0 = performance.now();
  const cfg = module.icmp;
  const result: ProbeResult = {
    target,
    module: module.name,
    prober: 'icmp',
    success: false,
    startedAt: Date.now(),
    durationSeconds: 0,
    phases: { resolve: 0, setup: 0, rtt: 0 },
  };
  try {
    const resolved = await resolveForProbe(target, cfg.preferred_ip_protocol, cfg.ip_protocol_fallback, ctx, resolverFor(cfg.dns_resolver, ctx.runtime, ctx.gate), result);

    const setupStart = performance.now();
    const src = checkSource(cfg, resolved.family);
    let engine;
    try {
      engine = ctx.runtime.icmp();
    } catch (err) {
      if (err instanceof IcmpSocketError) throw new ProbeFailure('network_error', err.message);
      throw err;
    }
    result.phases.setup = (performance.now() - setupStart) / 1000;

    const pings = Math.max(1, cfg.pings);
    const [round] = await echoRounds(engine, [resolved.addresses[0]], {
      pings,
      interval: cfg.interval,
      timeout: Math.max(0.001, (ctx.deadline - performance.now()) / 1000),
      deadline: ctx.deadline,
      ttl: cfg.ttl || undefined,
      df: cfg.dont_fragment,
      payloadSize: cfg.payload_size,
      src,
      signal: ctx.signal,
      flows: ctx.flows,
      qos: ctx.qos,
    });
    const stats = rttStats(round.rtts);
    result.icmp = {
      sent: round.sent,
      received: round.received,
      duplicates: round.duplicates,
      loss: round.sent > 0 ? 1 - round.received / round.sent : 1,
      rtt: stats,
      replyHopLimit: round.replyHopLimit,
      rtts: round.rtts,
    };
    // Every lost echo says where it was lost, also in a round that succeeded with some loss (issue 4).
    if (round.attribution) result.attribution = round.attribution;
    // blackbox's rtt phase is its one echo's round trip; for rounds, the median stands for it.
    result.phases.rtt = stats?.median ?? 0;
    if (round.sent === 0) {
      throw new ProbeFailure('timeout', 'no time left before the deadline to send an echo');
    }
    if (round.received > 0) {
      result.success = true;
    } else if (round.error) {
      const e = errorReason(round.error);
      throw new ProbeFailure(e.reason, e.message);
    } else {
      throw new ProbeFailure('packet_loss', `no reply to ${round.sent} echo request${round.sent > 1 ? 's' : ''}`);
    }
  } catch (err) {
    failResult(result, err);
  }
  result.durationSeconds = (performance.now() - t0) / 1000;
  return result;
};
