// One path trace: rounds of TTL-limited probes (every TTL of a round sent at once, like mtr's
// cycles), per-TTL addresses, loss and RTT, and where the target answered. Shared by the `trace`
// prober and `sonde trace`. Flow identifiers stay fixed across rounds (Paris traceroute), so with
// flows = 1 every probe follows one ECMP path; flows > 1 enumerates parallel next hops.
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { TraceEngine, TraceOutcome, TraceProbeSpec, TraceProto } from '../../native/trace';
import type { TraceFacts, TraceHop } from '../../result';
import { fnv32a } from '../../util/fnv';
import { rttStats } from '../icmp/round';

export interface TraceOptions {
  proto: TraceProto;
  /** UDP/TCP destination port; 0: 33434 (UDP) or 80 (TCP) */
  port: number;
  firstTtl: number;
  maxTtl: number;
  rounds: number;
  /** seconds between rounds */
  interval: number;
  /** seconds each probe waits for its answer */
  timeout: number;
  flows: number;
  /** first flow identifier (ICMP id / source port); default derived from the target and protocol */
  flowBase?: number;
  payloadSize?: number;
  /** performance.now() by which every probe must have ended */
  deadline?: number;
  signal?: AbortSignal;
  /** called for every probe that got no answer (timeout or send error), e.g. to explain it with eBPF */
  onLost?: (probe: LostTraceProbe) => void;
}

/** A probe that got no answer: where it was aimed, and what names it on the wire (outcome.key/gen). */
export interface LostTraceProbe {
  ttl: number;
  round: number;
  /** ICMP identifier or UDP/TCP source port */
  flow: number;
  /** the probe's index among those sent at this TTL (round * flows + flow index) */
  index: number;
  outcome: TraceOutcome;
}

export const DEFAULT_PORTS: Record<TraceProto, number> = { icmp: 0, udp: 33434, tcp: 80 };

/**
 * A stable flow base per (target, protocol): the same probe run after run follows the same ECMP
 * path, so a path change seen by the prober is the network's, not ours. Source ports stay in
 * 33000..48999, clear of the well-known range.
 */
export function flowBaseFor(address: string, proto: TraceProto): number {
  return 33000 + (fnv32a(`${proto}/${address}`) % 16000);
}

interface HopAcc {
  sent: number;
  received: number;
  rtts: number[];
  seen: Map<string, number>;
  unreachable: boolean;
}

/** The target answered this probe: an echo reply, a TCP SYN-ACK or RST, or an ICMP error it sent itself (port unreachable). */
function reachedBy(o: TraceOutcome, address: string): boolean {
  if (o.kind === 'echo_reply' || o.kind === 'tcp_synack' || o.kind === 'tcp_rst') return true;
  return o.kind === 'unreachable' && o.from === address;
}

export async function runTrace(engine: TraceEngine, address: string, opts: TraceOptions): Promise<TraceFacts> {
  const port = opts.port || DEFAULT_PORTS[opts.proto];
  const flowBase = opts.flowBase ?? flowBaseFor(address, opts.proto);
  const acc: HopAcc[] = [];
  for (let ttl = 0; ttl <= opts.maxTtl; ttl++) acc.push({ sent: 0, received: 0, rtts: [], seen: new Map(), unreachable: false });
  let reachTtl = Infinity;
  const waits: Array<Promise<void>> = [];
  const start = performance.now();
  for (let r = 0; r < opts.rounds; r++) {
    if (r > 0) {
      const wait = start + r * opts.interval * 1000 - performance.now();
      if (wait > 0) await sleep(wait, undefined, { ref: true });
    }
    if (opts.signal?.aborted) break;
    let timeoutMs = opts.timeout * 1000;
    if (opts.deadline !== undefined) timeoutMs = Math.min(timeoutMs, opts.deadline - performance.now() - 2);
    if (timeoutMs < 1) break;
    // Once the target answered at some TTL, later rounds stop there (answers past it are the target again).
    const last = Math.min(opts.maxTtl, reachTtl);
    const probes: TraceProbeSpec[] = [];
    for (let ttl = opts.firstTtl; ttl <= last; ttl++) {
      for (let f = 0; f < opts.flows; f++) probes.push({ address, ttl, flow: (flowBase + f) & 0xffff });
    }
    const indexAtTtl = probes.map((p) => acc[p.ttl].sent++);
    const round = r;
    waits.push(
      new Promise<void>((resolve) => {
        engine.send(
          probes,
          { proto: opts.proto, port, timeoutMs, payloadSize: opts.payloadSize },
          (i, o) => {
            const hop = acc[probes[i].ttl];
            if (o.kind === 'timeout' || o.kind === 'send_error' || o.from === undefined) {
              opts.onLost?.({ ttl: probes[i].ttl, round, flow: probes[i].flow, index: indexAtTtl[i], outcome: o });
              return;
            }
            hop.received++;
            hop.rtts.push(o.rtt);
            hop.seen.set(o.from, (hop.seen.get(o.from) ?? 0) + 1);
            if (reachedBy(o, address)) reachTtl = Math.min(reachTtl, probes[i].ttl);
            else if (o.kind === 'unreachable') hop.unreachable = true;
          },
          resolve,
        );
      }),
    );
  }
  await Promise.all(waits);
  return summarize(acc, opts, reachTtl);
}

function summarize(acc: HopAcc[], opts: TraceOptions, reachTtl: number): TraceFacts {
  const reached = Number.isFinite(reachTtl);
  let end = reached ? reachTtl : opts.firstTtl - 1;
  if (!reached) {
    // Not reached: up to the last TTL that answered, plus one silent hop to show where it goes dark
    // (none after a router said unreachable: the path ends there).
    for (let ttl = opts.firstTtl; ttl <= opts.maxTtl; ttl++) if (acc[ttl].received > 0) end = ttl;
    if (end < opts.maxTtl && !(end >= opts.firstTtl && acc[end].unreachable)) end++;
  }
  const hops: TraceHop[] = [];
  for (let ttl = opts.firstTtl; ttl <= end; ttl++) {
    const a = acc[ttl];
    const addresses = [...a.seen.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([addr]) => addr);
    const hop: TraceHop = {
      ttl,
      addresses,
      multipath: addresses.length > 1,
      sent: a.sent,
      received: a.received,
      loss: a.sent > 0 ? 1 - a.received / a.sent : 1,
    };
    const st = rttStats(a.rtts);
    if (st) hop.rtt = st;
    hops.push(hop);
  }
  return { proto: opts.proto, reached, hops, flows: opts.flows, pathHash: pathHash(hops) };
}

/** FNV-1a over "ttl=addr,addr;..." with addresses sorted (silent hops as "*"): equal paths, equal hashes. */
export function pathHash(hops: readonly TraceHop[]): number {
  return fnv32a(hops.map((h) => `${h.ttl}=${h.addresses.length ? [...h.addresses].sort().join(',') : '*'}`).join(';'));
}
