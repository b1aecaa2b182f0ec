// SmokePing-style rounds of echoes: N pings per target at a fixed interval, through the shared
// engine, for the icmp prober (one target) and `sonde ping` (many targets at once).
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { isIP } from 'node:net';
import type { IcmpEngine, IcmpOutcome } from '../../native/icmp';
import type { EngineClass } from '../../native/qos';
import type { Attribution, RTTStats } from '../../result';
import type { FlowRegistry, LostEcho } from '../types';

export interface RoundOptions {
  pings: number;
  /** seconds between two echoes to the same target */
  interval: number;
  /** seconds each echo waits for its reply */
  timeout: number;
  ttl?: number;
  df?: boolean;
  payloadSize?: number;
  src?: string;
  /** performance.now() by which every echo must have ended */
  deadline?: number;
  signal?: AbortSignal;
  /** eBPF flow registry: each target's echoes are watched and every lost one is attributed (issue 4) */
  flows?: FlowRegistry;
  /** the QoS class of the echoes in the engine (src/native/qos.ts) */
  qos?: EngineClass;
}

export interface RoundResult {
  sent: number;
  received: number;
  duplicates: number;
  /** seconds, per reply in send order */
  rtts: number[];
  /** the ping number (0-based) of each element of `rtts` */
  replySeqs: number[];
  replyHopLimit?: number;
  /** the first ICMP error (or refused send) seen, if any */
  error?: IcmpOutcome;
  /** echoes that got no answer (timeout or refused send), by ping number (0-based) */
  lost: LostEcho[];
  /** with `flows`: where each lost echo was lost, one entry per element of `lost` */
  attribution?: Attribution[];
}

export function rttStats(rtts: readonly number[]): RTTStats | undefined {
  if (rtts.length === 0) return undefined;
  const s = [...rtts].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  // Population standard deviation, as ping's mdev and fping report jitter.
  const variance = s.reduce((a, b) => a + (b - mean) * (b - mean), 0) / s.length;
  return { min: s[0], median, mean, max: s[s.length - 1], stddev: Math.sqrt(variance) };
}

/** Sends `pings` echoes to each address, `interval` apart, and waits for every outcome. */
export async function echoRounds(engine: IcmpEngine, addresses: readonly string[], opts: RoundOptions): Promise<RoundResult[]> {
  const results: RoundResult[] = addresses.map(() => ({ sent: 0, received: 0, duplicates: 0, rtts: [], replySeqs: [], lost: [] }));
  const watch = opts.flows ? watchEchoes(opts.flows, addresses) : undefined;
  try {
    await sendRounds(engine, addresses, opts, results);
    if (watch) await explainLost(opts.flows!, addresses.map((a) => watch.get(a) ?? 0), results, engine.privileged);
  } finally {
    for (const id of watch?.values() ?? []) if (id > 0) opts.flows!.remove(id);
  }
  return results;
}

/** One echo flow per distinct address, registered before the first echo leaves (also `sonde ping`). */
export function watchEchoes(flows: FlowRegistry, addresses: readonly string[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (const a of addresses) {
    if (!ids.has(a)) ids.set(a, flows.addEchoFlow?.({ family: isIP(a) === 6 ? 6 : 4, remote: a }) ?? 0);
  }
  return ids;
}

/** Attributes each result's lost echoes with the flow watched for it (ids[i] 0: not watched, "unknown"). */
export async function explainLost(flows: FlowRegistry, ids: readonly number[], results: ReadonlyArray<Pick<RoundResult, 'lost' | 'attribution'>>, rawSocket: boolean): Promise<void> {
  await Promise.all(
    results.map(async (r, i) => {
      if (r.lost.length === 0) return;
      r.lost.sort((a, b) => a.seq - b.seq);
      const unknown = (): Attribution[] => r.lost.map((l) => ({ seq: l.seq, verdict: 'unknown' }));
      r.attribution = flows.explainEchoes && ids[i] > 0 ? await flows.explainEchoes(ids[i], r.lost, { rawSocket }) : unknown();
    }),
  );
}

async function sendRounds(engine: IcmpEngine, addresses: readonly string[], opts: RoundOptions, results: RoundResult[]): Promise<void> {
  const perPing: Array<Array<number | undefined>> = addresses.map(() => []);
  const waits: Array<Promise<void>> = [];
  const start = performance.now();
  for (let k = 0; k < opts.pings; k++) {
    if (k > 0) {
      const wait = start + k * opts.interval * 1000 - performance.now();
      if (wait > 0) await sleep(wait, undefined, { ref: true });
    }
    if (opts.signal?.aborted) break;
    let timeoutMs = opts.timeout * 1000;
    if (opts.deadline !== undefined) timeoutMs = Math.min(timeoutMs, opts.deadline - performance.now() - 2);
    if (timeoutMs < 1) break;
    const ping = k;
    waits.push(
      new Promise<void>((resolve) => {
        engine.echo(
          addresses,
          { timeoutMs, ttl: opts.ttl, df: opts.df, payloadSize: opts.payloadSize, src: opts.src, qos: opts.qos },
          (i, o) => {
            const r = results[i];
            if (o.kind === 'reply') {
              r.received++;
              perPing[i][ping] = o.rtt;
              r.replyHopLimit = o.hopLimit || r.replyHopLimit;
            } else if (o.kind === 'duplicate') {
              r.duplicates++;
            } else if (o.kind !== 'timeout' && !r.error) {
              r.error = o;
            }
            // Unanswered: no reply and no ICMP error telling why (an error is the path's own answer).
            if (o.kind === 'timeout' || o.kind === 'send_error') r.lost.push({ seq: ping, echoId: o.echoId, echoSeq: o.echoSeq });
          },
          resolve,
        );
      }),
    );
    for (const r of results) r.sent++;
  }
  await Promise.all(waits);
  results.forEach((r, i) => {
    r.replySeqs = perPing[i].flatMap((x, k) => (x === undefined ? [] : [k]));
    r.rtts = r.replySeqs.map((k) => perPing[i][k] as number);
  });
}
