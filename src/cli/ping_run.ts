// The schedule of `sonde ping` as fping keeps it: count and loop modes send a round to every target
// each period; the default mode re-sends to silent targets with a growing timeout until they
// answer. Every outcome reaches the caller as it happens (live output), and an abort ends the run
// at once with the statistics of the echoes whose fate is known.
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { IcmpTargets, type IcmpEngine, type IcmpOutcome } from '../native/icmp';
import type { Attribution } from '../result';
import type { LostEcho } from '../probers/types';
import type { PingArgs } from './ping_args';

export interface TargetStats {
  /** echoes whose fate is known: answered, timed out or refused */
  sent: number;
  received: number;
  duplicates: number;
  /** RTTs in seconds, in arrival order */
  rtts: number[];
  /** of `rtts`, kept as they arrive (a summary line needs no sort) */
  rttSum: number;
  rttMin: number;
  rttMax: number;
  /** per echo number: its RTT, null when lost; only kept when the output lists echoes by number */
  bySeq?: Array<number | null>;
  alive: boolean;
  /** the first ICMP error (or refused send) seen */
  error?: IcmpOutcome;
  lost: LostEcho[];
  attribution?: Attribution[];
}

export interface PingEvents {
  reply?(target: number, seq: number, rtt: number): void;
  duplicate?(target: number, seq: number, rtt: number): void;
  timeout?(target: number, seq: number): void;
  error?(target: number, seq: number, o: IcmpOutcome): void;
  /** default mode: no answer after every retry */
  unreachable?(target: number): void;
}

export function newStats(keepSeq: boolean): TargetStats {
  return { sent: 0, received: 0, duplicates: 0, rtts: [], rttSum: 0, rttMin: Infinity, rttMax: -Infinity, alive: false, lost: [], ...(keepSeq ? { bySeq: [] } : {}) };
}

type RunArgs = Pick<PingArgs, 'mode' | 'count' | 'period' | 'interval' | 'timeout' | 'retries' | 'backoff' | 'size' | 'ttl'>;

export class PingRun {
  /** echoes sent whose outcome has not arrived */
  inFlight = 0;
  rounds = 0;
  private readonly waiters = new Set<() => void>();
  /** resolves once the current round has been handed to the engine (-i spreads it over time) */
  private sent: Promise<void> = Promise.resolve();
  /** every target, parsed once for all rounds */
  private readonly targets: IcmpTargets;

  /** `addresses[i]`: target i's address; `stats[i]` its counters, updated as outcomes arrive. */
  constructor(
    private readonly engine: IcmpEngine,
    private readonly addresses: readonly string[],
    readonly stats: TargetStats[],
    private readonly args: RunArgs,
    private readonly events: PingEvents,
    private readonly signal: AbortSignal,
  ) {
    this.targets = IcmpTargets.parse(addresses);
  }

  async run(): Promise<void> {
    const all = this.addresses.map((_, i) => i);
    if (all.length === 0) return;
    if (this.args.mode === 'alive') return this.alive(all);
    const rounds = this.args.mode === 'loop' ? Infinity : this.args.count;
    const start = performance.now();
    const done: Array<Promise<void>> = [];
    for (let k = 0; k < rounds && !this.signal.aborted; k++) {
      if (k > 0 && !(await this.pause(start + k * this.args.period - performance.now()))) break;
      this.rounds = k + 1;
      done.push(this.round(all, k, this.args.timeout));
      // The next round starts after this one has been sent (-i paces it) and one period after the last.
      await this.sent;
      // Loop mode keeps no promise per round: a round's outcomes are counted in the stats.
      if (this.args.mode === 'loop') done.length = 0;
    }
    if (this.args.mode === 'loop') await this.idle();
    else await this.abortable(Promise.all(done).then(() => undefined));
  }

  private async alive(all: number[]): Promise<void> {
    let pending = all;
    for (let a = 0; a <= this.args.retries && pending.length > 0 && !this.signal.aborted; a++) {
      this.rounds = a + 1;
      await this.abortable(this.round(pending, a, this.args.timeout * this.args.backoff ** a));
      pending = pending.filter((i) => !this.stats[i].alive);
    }
    if (!this.signal.aborted) for (const i of pending) this.events.unreachable?.(i);
  }

  /** Sends echo number `seq` to `targets`, paced by -i; resolves when every outcome is in. */
  private round(targets: readonly number[], seq: number, timeoutMs: number): Promise<void> {
    let left = targets.length;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const opts = { timeoutMs, ttl: this.args.ttl, payloadSize: this.args.size };
    // Rounds of count and loop mode go to every target: their slices are views, no copy.
    const everyone = targets.length === this.addresses.length;
    const send = (from: number, to: number): void => {
      const at = (j: number): number => (everyone ? from + j : targets[from + j]);
      this.inFlight += to - from;
      const final = (): void => {
        this.inFlight--;
        left--;
      };
      this.engine.echo(
        everyone ? this.targets.slice(from, to) : this.targets.pick(targets.slice(from, to)),
        opts,
        {
          reply: (j, rtt) => {
            final();
            this.reply(at(j), seq, rtt);
          },
          outcome: (j, o) => {
            if (o.kind !== 'duplicate') final();
            this.outcome(at(j), seq, o);
          },
        },
        () => (left === 0 ? resolveDone() : undefined),
      );
    };
    const interval = this.args.interval;
    if (interval <= 0) {
      send(0, targets.length);
      this.sent = Promise.resolve();
    } else {
      this.sent = (async () => {
        const t0 = performance.now();
        let next = 0;
        while (next < targets.length && !this.signal.aborted) {
          // Every echo due by now leaves in one call: a timer tick is coarser than a small -i.
          const due = Math.min(targets.length, Math.max(next + 1, Math.floor((performance.now() - t0) / interval) + 1));
          send(next, due);
          next = due;
          if (next < targets.length && !(await this.pause(t0 + next * interval - performance.now()))) break;
        }
        // Echoes never sent (aborted) are no outcome to wait for.
        left -= targets.length - next;
        if (left === 0) resolveDone();
      })();
    }
    return done;
  }

  private reply(i: number, seq: number, rtt: number): void {
    const s = this.stats[i];
    s.sent++;
    s.received++;
    s.rtts.push(rtt);
    s.rttSum += rtt;
    if (rtt < s.rttMin) s.rttMin = rtt;
    if (rtt > s.rttMax) s.rttMax = rtt;
    if (s.bySeq) s.bySeq[seq] = rtt;
    s.alive = true;
    this.events.reply?.(i, seq, rtt);
    if (this.inFlight === 0) this.wake();
  }

  private outcome(i: number, seq: number, o: IcmpOutcome): void {
    const s = this.stats[i];
    if (o.kind === 'duplicate') {
      s.duplicates++;
      this.events.duplicate?.(i, seq, o.rtt);
      return;
    }
    if (o.kind === 'reply') return this.reply(i, seq, o.rtt);
    s.sent++;
    if (s.bySeq) s.bySeq[seq] = null;
    if (o.kind === 'timeout' || o.kind === 'send_error') s.lost.push({ seq, echoId: o.echoId, echoSeq: o.echoSeq });
    if (o.kind === 'timeout') this.events.timeout?.(i, seq);
    else {
      s.error ??= o;
      this.events.error?.(i, seq, o);
    }
    if (this.inFlight === 0) this.wake();
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  /** Sleeps `ms`; false when aborted meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    if (ms > 0) await sleep(ms, undefined, { signal: this.signal }).catch(() => undefined);
    return !this.signal.aborted;
  }

  /** Resolves with `p`, or at once when the run is aborted (outcomes still in flight are not waited for). */
  private abortable(p: Promise<void>): Promise<void> {
    if (this.signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onAbort = (): void => resolve();
      this.signal.addEventListener('abort', onAbort, { once: true });
      void p.then(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Loop mode after its last round (only an abort ends the loop): nothing left in flight. */
  private idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return this.abortable(
      new Promise<void>((resolve) => {
        const w = (): void => {
          this.waiters.delete(w);
          resolve();
        };
        this.waiters.add(w);
      }),
    );
  }
}
