// The tcp_syn prober: the states of a list of ports of one host by SYN half-open scan, as nmap -sS
// reports them (open: SYN-ACK, closed: RST, filtered: silence or ICMP unreachable). One small
// ScanSpec per probe on the runtime's one SYN engine (src/native/syn_types.ts), so a task of
// thousands of (host, port) pairs holds no socket per pair. The resolved address must be inside
// the config's scan.allow (copied into the module by the loader), checked before any packet.
import { performance } from 'node:perf_hooks';
import { defaultTCPSyn } from '../../config/defaults';
import type { TCPSynModule } from '../../config/types';
import type { ScanHit, ScanSpec, ScanSummary } from '../../native/syn_types';
import type { PortStateFacts, ProbeResult, TCPSynFacts } from '../../result';
import { listPorts } from '../../scan/ports';
import { resolverFor } from '../dns/resolver';
import { failResult, ProbeFailure } from '../errors';
import { resolveForProbe } from '../resolve';
import type { Prober } from '../types';
import { allowSet } from './config';
import { addressBytes } from '../../native/ipaddr';
import { synSourcePorts } from '../../native/syn_flows';

// Time kept back from the deadline for the engine to end the run and hand its summary over.
const END_MARGIN_MS = 50;

function checkSource(cfg: TCPSynModule, family: 4 | 6): Pick<ScanSpec, 'source4' | 'source6'> {
  if (!cfg.source_ip_address) return {};
  if (addressBytes(cfg.source_ip_address).family !== family) throw new ProbeFailure('config', `source_ip_address ${cfg.source_ip_address} is not IPv${family} like the target`);
  return family === 4 ? { source4: cfg.source_ip_address } : { source6: cfg.source_ip_address };
}

/** The facts of one probe from the engine's hits, in port order. */
export function synFacts(hits: readonly ScanHit[], summary: Pick<ScanSummary, 'sent' | 'validated' | 'foreign'>): TCPSynFacts {
  const ports: PortStateFacts[] = hits
    .map((h) => ({ port: h.port, state: h.state, reason: h.reason, icmpCode: h.icmpCode, ttl: h.ttl, rtt: h.rtt }))
    .sort((a, b) => a.port - b.port);
  const count = (s: PortStateFacts['state']): number => ports.filter((p) => p.state === s).length;
  return { ports, open: count('open'), closed: count('closed'), filtered: count('filtered'), sent: summary.sent, validated: summary.validated, foreign: summary.foreign };
}

/** Why a probe failed: ports without a state (cut short), else the first port not open. */
function verdict(facts: TCPSynFacts, wanted: readonly number[], cfg: TCPSynModule): ProbeFailure | undefined {
  const known = new Set(facts.ports.map((p) => p.port));
  const missing = wanted.filter((p) => !known.has(p));
  if (missing.length > 0) return new ProbeFailure('timeout', `the scan ended before ${missing.length} of ${wanted.length} ports had a state (first: ${missing[0]}); raise the timeout or the rate`);
  if (!cfg.fail_if_not_open) return undefined;
  const notOpen = facts.ports.filter((p) => p.state !== 'open');
  if (notOpen.length === 0) return undefined;
  const first = notOpen[0];
  const list = notOpen
    .slice(0, 10)
    .map((p) => `${p.port} ${p.state} (${p.reason})`)
    .join(', ');
  const more = notOpen.length > 10 ? ` and ${notOpen.length - 10} more` : '';
  const message = `${notOpen.length} of ${wanted.length} ports not open: ${list}${more}`;
  if (first.state === 'closed') return new ProbeFailure('refused', message);
  return new ProbeFailure(first.reason === 'no-response' ? 'connect_timeout' : 'icmp_unreachable', message);
}

export const probeTCPSyn: Prober = async (target, module, ctx) => {
  const t0 = performance.now();
  const cfg = module.tcp_syn ?? defaultTCPSyn();
  const result: ProbeResult = { target, module: module.name, prober: 'tcp_syn', success: false, startedAt: Date.now(), durationSeconds: 0, phases: { resolve: 0, scan: 0 } };
  let watch: { since: number; done(): void } | undefined;
  try {
    if (cfg.ports.length === 0) throw new ProbeFailure('config', 'tcp_syn.ports lists no port');
    const resolved = await resolveForProbe(target, cfg.preferred_ip_protocol, cfg.ip_protocol_fallback, ctx, resolverFor(cfg.dns_resolver, ctx.runtime, ctx.gate), result);
    const address = resolved.addresses[0];
    // The same rule as `sonde scan`: no SYN leaves for an address the config does not allow.
    if (!allowSet(cfg.scan_allow).hasAddress(address)) {
      throw new ProbeFailure('config', `${target} (${address}) is outside scan.allow (${cfg.scan_allow.join(', ') || 'none'}): no SYN sent`);
    }
    const source = checkSource(cfg, resolved.family);
    const engine = ctx.runtime.syn();
    const scanStart = performance.now();
    const maxRuntimeMs = Math.floor(ctx.deadline - scanStart - END_MARGIN_MS);
    if (maxRuntimeMs < 1) throw new ProbeFailure('timeout', 'no time left before the deadline to send a SYN');
    const spec: ScanSpec = {
      runs: [{ family: resolved.family, first: address, count: 1 }],
      ports: cfg.ports,
      rate: cfg.rate,
      retries: cfg.retries,
      waitMs: Math.round(cfg.wait * 1000),
      maxRuntimeMs,
      allStates: true,
      sourcePorts: cfg.source_port_range,
      ...source,
    };
    const hits: ScanHit[] = [];
    // The source ports are the probe's flows: a silent port of a failed probe gets its verdict.
    const sourcePorts = synSourcePorts(spec);
    watch = ctx.flows?.watchScanPorts?.(sourcePorts);
    const handle = engine.scan(spec, { onHits: (batch) => void hits.push(...batch) });
    // Cancelled from outside (a /probe client gone, the daemon stopping) or past the deadline: the run ends now.
    const stop = (): void => handle.stop();
    ctx.cancellable?.(stop);
    ctx.signal.addEventListener('abort', stop, { once: true });
    let summary: ScanSummary;
    try {
      summary = await handle.done;
    } finally {
      ctx.signal.removeEventListener('abort', stop);
    }
    result.phases.scan = (performance.now() - scanStart) / 1000;
    const facts = synFacts(hits, summary);
    result.tcpSyn = facts;
    const failure = verdict(facts, listPorts(cfg.ports), cfg);
    if (failure) {
      const silent = facts.ports.filter((p) => p.reason === 'no-response').map((p) => ({ address, port: p.port }));
      if (silent.length > 0 && watch && ctx.flows?.explainSilent) result.attribution = await ctx.flows.explainSilent(sourcePorts, silent, watch.since);
      throw failure;
    }
    result.success = true;
  } catch (err) {
    failResult(result, err);
  } finally {
    watch?.done();
  }
  result.durationSeconds = (performance.now() - t0) / 1000;
  return result;
};
