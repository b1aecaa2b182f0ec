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
import { HopPacer, KERNEL_RATELIMIT_MS, rateLimitedHops } from './pacer';

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
  /**
   * The hops' ICMP rate limit the rounds are paced under, ms per answer after a burst
   * (net.ipv4.icmp_ratelimit; default the kernel's 1000); 0: the hops have no limit.
   */
  hopRateLimitMs?: number;
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
  /** probes sent at this TTL (their index on the wire) */
  launched: number;
  /** probes whose fate is known: answered, timed out or refused */
  sent: number;
  received: number;
  rtts: number[];
  last?: number;
  seen: Map<string, number>;
  unreachable: boolean;
}

/** The target answered this probe: an echo reply, a TCP SYN-ACK or RST, or an ICMP error it sent itself (port unreachable). */
function reachedBy(o: TraceOutcome, address: string): boolean {
  if (o.kind === 'echo_reply' || o.kind === 'tcp_synack' || o.kind === 'tcp_rst') return true;
  return o.kind === 'unreachable' && o.from === address;
}

export async function runTrace(engine: TraceEngine, address: string, opts: TraceOptions): Promise<TraceFacts> {
  return new TraceRun(engine, address, opts).run();
}

/**
 * A trace in progress: facts() is the table so far (a live view, or the summary of an interrupted
 * run: probes still in flight are not counted as sent). Rounds are paced under the hops' ICMP rate
 * limits (pacer.ts); the first round looks for the target a few TTLs at a time, so no more probes
 * go past it than its rate limit answers, and no round probes past it once it answered.
 */
export class TraceRun {
  private readonly acc: HopAcc[] = [];
  private reachTtl = Infinity;
  private readonly pacer: HopPacer;
  private readonly port: number;
  private readonly flowBase: number;

  constructor(
    private readonly engine: TraceEngine,
    private readonly address: string,
    private readonly opts: TraceOptions,
  ) {
    this.port = opts.port || DEFAULT_PORTS[opts.proto];
    this.flowBase = opts.flowBase ?? flowBaseFor(address, opts.proto);
    for (let ttl = 0; ttl <= opts.maxTtl; ttl++) this.acc.push({ launched: 0, sent: 0, received: 0, rtts: [], seen: new Map(), unreachable: false });
    this.pacer = new HopPacer(opts.hopRateLimitMs ?? KERNEL_RATELIMIT_MS, () => performance.now());
  }

  facts(): TraceFacts {
    return summarize(this.acc, this.opts, this.reachTtl);
  }

  async run(): Promise<TraceFacts> {
    const { opts } = this;
    const waits: Array<Promise<void>> = [];
    const start = performance.now();
    for (let r = 0; r < opts.rounds; r++) {
      if (r > 0 && !(await this.pause(start + r * opts.interval * 1000 - performance.now()))) break;
      if (opts.signal?.aborted) break;
      if (r === 0 && this.pacer.enabled) {
        // Looking for the target: a window of TTLs at a time, the next once this one is known not to hold it.
        const width = Math.max(1, Math.floor(this.pacer.burst / opts.flows));
        for (let ttl = opts.firstTtl; ttl <= opts.maxTtl && !Number.isFinite(this.reachTtl); ttl += width) {
          const b = this.batch(r, ttl, Math.min(opts.maxTtl, ttl + width - 1), true);
          if (!(await b.sent)) break;
          waits.push(b.done);
          await b.known;
        }
      } else {
        const b = this.batch(r, opts.firstTtl, Math.min(opts.maxTtl, this.reachTtl), false);
        const more = await b.sent;
        waits.push(b.done);
        if (!more) break;
      }
    }
    await Promise.race([Promise.all(waits), this.aborted()]);
    return this.facts();
  }

  /**
   * Sends round `round` at TTLs from..to, every flow, in chunks the hops' buckets allow. `sent`:
   * false when the run must stop (aborted, or the deadline leaves no time); `done`: every outcome
   * is in; `known` (with `early`): as `done`, or sooner once the top TTL was answered by a router.
   */
  private batch(round: number, from: number, to: number, early: boolean): { sent: Promise<boolean>; done: Promise<void>; known: Promise<void> } {
    const { opts } = this;
    let left = 0;
    let sending = true;
    let resolveDone!: () => void;
    let resolveKnown!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const known = new Promise<void>((r) => (resolveKnown = r));
    const settle = (): void => {
      if (left === 0 && !sending) {
        resolveDone();
        resolveKnown();
      }
    };
    const chunk = this.pacer.enabled ? Math.max(1, Math.min(opts.flows, this.pacer.burst)) : opts.flows;
    const sent = (async (): Promise<boolean> => {
      try {
        for (let f0 = 0; f0 < opts.flows; f0 += chunk) {
          const flows = Math.min(chunk, opts.flows - f0);
          const counts = new Map<number, number>();
          for (let ttl = from; ttl <= to; ttl++) counts.set(ttl, flows);
          if (!(await this.pause(this.pacer.waitFor(counts)))) return false;
          let timeoutMs = opts.timeout * 1000;
          if (opts.deadline !== undefined) timeoutMs = Math.min(timeoutMs, opts.deadline - performance.now() - 2);
          if (timeoutMs < 1) return false;
          // Past the target once it answered (found by an earlier chunk): nothing more to send there.
          const top = Math.min(to, this.reachTtl);
          const probes: TraceProbeSpec[] = [];
          for (let ttl = from; ttl <= top; ttl++) for (let f = f0; f < f0 + flows; f++) probes.push({ address: this.address, ttl, flow: (this.flowBase + f) & 0xffff });
          if (probes.length === 0) return true;
          for (const ttl of [...counts.keys()]) if (ttl > top) counts.delete(ttl);
          this.pacer.spend(counts);
          left += probes.length;
          this.send(probes, round, timeoutMs, (p, o) => {
            left--;
            if (early && p.ttl === to && o.kind === 'time_exceeded') resolveKnown();
            settle();
          });
        }
        return true;
      } finally {
        sending = false;
        settle();
      }
    })();
    return { sent, done, known };
  }

  private send(probes: TraceProbeSpec[], round: number, timeoutMs: number, after: (p: TraceProbeSpec, o: TraceOutcome) => void): void {
    const indexAtTtl = probes.map((p) => this.acc[p.ttl].launched++);
    this.engine.send(probes, { proto: this.opts.proto, port: this.port, timeoutMs, payloadSize: this.opts.payloadSize }, (i, o) => {
      const p = probes[i];
      const hop = this.acc[p.ttl];
      hop.sent++;
      if (o.kind === 'timeout' || o.kind === 'send_error' || o.from === undefined) {
        this.opts.onLost?.({ ttl: p.ttl, round, flow: p.flow, index: indexAtTtl[i], outcome: o });
      } else {
        hop.received++;
        hop.rtts.push(o.rtt);
        hop.last = o.rtt;
        hop.seen.set(o.from, (hop.seen.get(o.from) ?? 0) + 1);
        if (reachedBy(o, this.address)) {
          if (p.ttl < this.reachTtl) this.pacer.reachedAt(p.ttl);
          this.reachTtl = Math.min(this.reachTtl, p.ttl);
        } else if (o.kind === 'unreachable') hop.unreachable = true;
      }
      after(p, o);
    });
  }

  /** Sleeps `ms` (the engine keeps the process alive meanwhile); false when aborted. */
  private async pause(ms: number): Promise<boolean> {
    if (ms > 0) await sleep(ms, undefined, { ref: true, signal: this.opts.signal }).catch(() => undefined);
    return !this.opts.signal?.aborted;
  }

  private aborted(): Promise<void> {
    const signal = this.opts.signal;
    if (!signal) return new Promise<void>(() => undefined);
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
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
    if (a.last !== undefined) hop.last = a.last;
    hops.push(hop);
  }
  rateLimitedHops(hops).forEach((limited, i) => (limited ? (hops[i].rateLimited = true) : undefined));
  return { proto: opts.proto, reached, hops, flows: opts.flows, pathHash: pathHash(hops) };
}

/** FNV-1a over "ttl=addr,addr;..." with addresses sorted (silent hops as "*"): equal paths, equal hashes. */
export function pathHash(hops: readonly TraceHop[]): number {
  return fnv32a(hops.map((h) => `${h.ttl}=${h.addresses.length ? [...h.addresses].sort().join(',') : '*'}`).join(';'));
}
