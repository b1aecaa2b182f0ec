// A SynEngine that answers from a table instead of the wire: each (address, port) of the spec's
// space gets the state `truth` gives it, in batches on later ticks, as the real engine hands hits
// over. It checks the spec as the contract states it (rate > 0, ports sorted and disjoint).
import type { ScanHandle, ScanHit, ScanListener, ScanProgress, ScanSpec, ScanSummary, SynEngine } from '../../src/native/syn_types';
import { fromBigInt, toBigInt } from '../../src/scan/addrset';

export type Truth = (address: string, port: number) => Omit<ScanHit, 'address' | 'port'>;

export class FakeSynEngine implements SynEngine {
  readonly specs: ScanSpec[] = [];
  closed = false;

  constructor(
    private readonly truth: Truth,
    private readonly batch = 3,
  ) {}

  scan(spec: ScanSpec, listener: ScanListener): ScanHandle {
    if (!(spec.rate > 0)) throw new RangeError('rate must be > 0');
    for (let i = 1; i < spec.ports.length; i++) if (spec.ports[i][0] <= spec.ports[i - 1][1]) throw new RangeError('ports not sorted and disjoint');
    this.specs.push(spec);
    const all: ScanHit[] = [];
    for (const run of spec.runs) {
      const first = toBigInt(run.first).value;
      for (let k = 0; k < run.count; k++) {
        const address = fromBigInt(first + BigInt(k), run.family);
        for (const [lo, hi] of spec.ports) for (let p = lo; p <= hi; p++) all.push({ address, port: p, ...this.truth(address, p) });
      }
    }
    const p: ScanProgress = { sent: 0, refused: 0, total: all.length, received: 0, validated: 0, foreign: 0, duplicates: 0, open: 0, closed: 0, filtered: 0 };
    let stopped = false;
    let resolveDone: (s: ScanSummary) => void = () => undefined;
    const done = new Promise<ScanSummary>((r) => (resolveDone = r));
    const finish = (truncated: boolean): void => resolveDone({ ...p, seconds: 0.01, packetsPerSecond: p.sent / 0.01, truncated });
    let i = 0;
    const tick = (): void => {
      if (stopped) return finish(true);
      const chunk = all.slice(i, i + this.batch);
      i += chunk.length;
      for (const h of chunk) {
        p.sent++;
        p[h.state]++;
        if (h.reason !== 'no-response') {
          p.received++;
          p.validated++;
        }
      }
      const shown = spec.allStates ? chunk : chunk.filter((h) => h.state === 'open');
      if (shown.length) listener.onHits(shown);
      if (i < all.length) setImmediate(tick);
      else finish(false);
    };
    setImmediate(tick);
    return { done, stop: () => void (stopped = true), progress: () => ({ ...p }) };
  }

  close(): void {
    this.closed = true;
  }
}

/** open on `open`, closed (RST) elsewhere. */
export function openOn(open: ReadonlyArray<[string, number]>): Truth {
  const set = new Set(open.map(([a, p]) => `${a}|${p}`));
  return (a, p) => (set.has(`${a}|${p}`) ? { state: 'open', reason: 'syn-ack', ttl: 64, rtt: 0.0001 } : { state: 'closed', reason: 'reset', ttl: 64, rtt: 0.0001 });
}
