// Typed wrapper over the native SYN scan engine (native/glue/syn.cc): implements the SynEngine
// contract of syn_types.ts. Port states arrive in batches of typed arrays and are turned here into
// ScanHit objects per run; a run's summary comes after its last state. One engine per runtime
// (src/runtime.ts); several runs share it.
//
// The engine keeps an nftables table while runs use its source ports (native/syn/nft.h). close()
// removes it; so does the process's 'exit' for engines still open, and SIGINT/SIGTERM when nothing
// else listens for them (then the signal is raised again, so the process ends as it would have).
// A program that handles those signals itself must close its engines (Runtime.close()) there.
import { binding } from './addon';
import { formatAddress } from './ipaddr';
import type { PortState, ScanHandle, ScanHit, ScanListener, ScanProgress, ScanSpec, ScanSummary, SynEngine } from './syn_types';

/** Indexed by the native SynState values (native/syn/engine.h). */
const STATES: readonly PortState[] = ['open', 'closed', 'filtered'];

/** nmap's reasons for ICMP destination unreachable codes: IPv4 type 3 (RFC 792, 1812), IPv6 type 1 (RFC 4443). */
const ICMP4_REASONS: Readonly<Record<number, string>> = {
  0: 'net-unreach',
  1: 'host-unreach',
  2: 'proto-unreach',
  3: 'port-unreach',
  9: 'net-prohibited',
  10: 'host-prohibited',
  13: 'admin-prohibited',
};
const ICMP6_REASONS: Readonly<Record<number, string>> = {
  0: 'no-route',
  1: 'admin-prohibited',
  2: 'beyond-scope',
  3: 'addr-unreach',
  4: 'port-unreach',
  5: 'failed-policy',
  6: 'reject-route',
};

/** The reason of a hit from the native reason value (SynReason) and ICMP code. */
export function reasonName(reason: number, family: number, code: number): string {
  if (reason === 0) return 'syn-ack';
  if (reason === 1) return 'reset';
  if (reason === 2) return 'no-response';
  const table = family === 4 ? ICMP4_REASONS : ICMP6_REASONS;
  return table[code] ?? `unreach-${code}`;
}

export interface NativeSynBatch {
  length: number;
  run: Uint32Array;
  family: Uint8Array;
  state: Uint8Array;
  reason: Uint8Array;
  code: Uint8Array;
  ttl: Uint8Array;
  port: Uint16Array;
  addr: Uint8Array;
  rtt: Float64Array;
  done: readonly (ScanSummary & { run: number })[];
}

export interface NativeSynSpec {
  runs: { family: 4 | 6; first: string; count: number }[];
  ports: [number, number][];
  rate: number;
  retries?: number;
  waitMs?: number;
  shardIndex?: number;
  shardCount?: number;
  seed?: bigint;
  source4?: string;
  source6?: string;
  sourcePorts?: [number, number];
  maxRuntimeMs?: number;
  allStates?: boolean;
}

export interface NativeSynEngine {
  start(spec: NativeSynSpec): number;
  stopRun(id: number): void;
  progress(id: number): ScanProgress | undefined;
  ref(): void;
  unref(): void;
  close(): void;
}

export type NativeSynCtor = new (onBatch: (b: NativeSynBatch) => void) => NativeSynEngine;

/** A scan the engine refuses (bad spec, no route, ports overlapping the kernel's, no nftables) or cannot open sockets for. */
export class SynScanError extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_SONDE_SYN_SPEC' | 'ERR_SONDE_SYN_SOCKET',
  ) {
    super(message);
    this.name = 'SynScanError';
  }
}

const ZERO: ScanProgress = { sent: 0, refused: 0, total: 0, received: 0, validated: 0, foreign: 0, duplicates: 0, open: 0, closed: 0, filtered: 0 };

interface RunState {
  listener: ScanListener;
  resolve: (s: ScanSummary) => void;
  last: ScanProgress;
  summary?: ScanSummary;
}

const live = new Set<NativeSynEngineImpl>();
let hooked = false;

function hookProcess(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const e of [...live]) e.close();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      // Someone else handles the signal: they close what they use. Alone: clean up, then let the signal do what it would have.
      if (process.listenerCount(sig) > 1) return;
      for (const e of [...live]) e.close();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

function toNativeSpec(spec: ScanSpec): NativeSynSpec {
  return {
    runs: spec.runs.map((r) => ({ family: r.family, first: r.first, count: r.count })),
    ports: spec.ports.map(([lo, hi]) => [lo, hi]),
    rate: spec.rate,
    retries: spec.retries,
    waitMs: spec.waitMs,
    shardIndex: spec.shard?.index,
    shardCount: spec.shard?.count,
    seed: spec.seed,
    source4: spec.source4,
    source6: spec.source6,
    sourcePorts: spec.sourcePorts ? [spec.sourcePorts[0], spec.sourcePorts[1]] : undefined,
    maxRuntimeMs: spec.maxRuntimeMs,
    allStates: spec.allStates,
  };
}

export class NativeSynEngineImpl implements SynEngine {
  private readonly native: NativeSynEngine;
  private readonly running = new Map<number, RunState>();
  private closed = false;

  /** ctor: the addon's SynEngine; a test may give a fake one. */
  constructor(ctor: NativeSynCtor = binding.SynEngine as NativeSynCtor) {
    try {
      this.native = new ctor((b) => this.onBatch(b));
    } catch (err) {
      throw asScanError(err, 'ERR_SONDE_SYN_SOCKET');
    }
    this.native.unref();
    live.add(this);
    hookProcess();
  }

  scan(spec: ScanSpec, listener: ScanListener): ScanHandle {
    if (this.closed) throw new SynScanError('the SYN engine is closed', 'ERR_SONDE_SYN_SPEC');
    let id: number;
    try {
      id = this.native.start(toNativeSpec(spec));
    } catch (err) {
      throw asScanError(err, 'ERR_SONDE_SYN_SPEC');
    }
    let resolve!: (s: ScanSummary) => void;
    const done = new Promise<ScanSummary>((r) => (resolve = r));
    const st: RunState = { listener, resolve, last: { ...ZERO } };
    this.running.set(id, st);
    if (this.running.size === 1) this.native.ref();
    return {
      done,
      stop: () => {
        if (!st.summary && !this.closed) this.native.stopRun(id);
      },
      progress: () => {
        if (st.summary) return pickProgress(st.summary);
        const p = this.closed ? undefined : this.native.progress(id);
        if (p) st.last = p;
        return { ...st.last };
      },
    };
  }

  /** Ends every run (their `done` resolves, truncated) and removes the engine's nftables table. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    for (const [id, st] of this.running) {
      const p = this.native.progress(id);
      if (p) st.last = p;
    }
    this.native.close();
    for (const st of this.running.values()) {
      st.summary = { ...st.last, seconds: 0, packetsPerSecond: 0, truncated: true };
      st.resolve(st.summary);
    }
    this.running.clear();
  }

  private onBatch(b: NativeSynBatch): void {
    const byRun = new Map<number, ScanHit[]>();
    for (let i = 0; i < b.length; i++) {
      const run = b.run[i];
      if (!this.running.has(run)) continue;
      const fam = b.family[i];
      const reason = b.reason[i];
      const hit: ScanHit = {
        address: formatAddress(b.addr.subarray(i * 16, i * 16 + 16), fam),
        port: b.port[i],
        state: STATES[b.state[i]] ?? 'filtered',
        reason: reasonName(reason, fam, b.code[i]),
      };
      if (reason === 3) hit.icmpCode = b.code[i];
      if (reason !== 2) hit.ttl = b.ttl[i];
      if (b.rtt[i] >= 0) hit.rtt = b.rtt[i];
      let list = byRun.get(run);
      if (!list) byRun.set(run, (list = []));
      list.push(hit);
    }
    for (const [run, hits] of byRun) this.running.get(run)?.listener.onHits(hits);
    for (const d of b.done) {
      const st = this.running.get(d.run);
      if (!st) continue;
      this.running.delete(d.run);
      const { run: _run, ...summary } = d;
      st.summary = summary;
      st.resolve(summary);
    }
    if (this.running.size === 0 && !this.closed) this.native.unref();
  }
}

function pickProgress(s: ScanSummary): ScanProgress {
  const { seconds: _s, packetsPerSecond: _p, truncated: _t, ...p } = s;
  return p;
}

function asScanError(err: unknown, fallback: 'ERR_SONDE_SYN_SPEC' | 'ERR_SONDE_SYN_SOCKET'): Error {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ERR_SONDE_SYN_SPEC' || e.code === 'ERR_SONDE_SYN_SOCKET') return new SynScanError(e.message ?? String(err), e.code);
  if (err instanceof TypeError || err instanceof RangeError) return new SynScanError(err.message, fallback);
  return err as Error;
}
