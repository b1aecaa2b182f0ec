// SmokePing-style rounds of echoes: N pings per target at a fixed interval, through the shared
// engine, for the icmp prober (one target) and `sonde ping` (many targets at once).
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { IcmpEngine, IcmpOutcome } from '../native/icmp';
import type { RTTStats } from '../result';

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
}

export interface RoundResult {
  sent: number;
  received: number;
  duplicates: number;
  /** seconds, per reply in send order */
  rtts: number[];
  replyHopLimit?: number;
  /** the first ICMP error (or refused send) seen, if any */
  error?: IcmpOutcome;
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
  const results: RoundResult[] = addresses.map(() => ({ sent: 0, received: 0, duplicates: 0, rtts: [] }));
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
          { timeoutMs, ttl: opts.ttl, df: opts.df, payloadSize: opts.payloadSize, src: opts.src },
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
          },
          resolve,
        );
      }),
    );
    for (const r of results) r.sent++;
  }
  await Promise.all(waits);
  results.forEach((r, i) => (r.rtts = perPing[i].filter((x): x is number => x !== undefined)));
  return results;
}
