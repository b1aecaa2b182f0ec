// Typed wrapper over the native ICMP engine (native/glue/icmp.cc). The engine sends echoes on its
// own thread and hands outcomes back in batches of typed arrays; this module turns them into
// per-request callbacks. One engine (and one set of sockets) per runtime (src/runtime.ts).
import { binding } from './addon';
import { addressBytes, formatAddress } from './ipaddr';
import { classCounters, engineClassNumber, type EngineClass, type EngineClassCounters, type EngineQosLimits } from './qos';

export type IcmpOutcomeKind =
  | 'reply'
  | 'timeout'
  | 'unreachable'
  | 'time_exceeded'
  | 'packet_too_big'
  | 'parameter_problem'
  | 'duplicate'
  | 'send_error'
  /** never sent: its QoS class's queue in the engine was past its bound (src/native/qos.ts) */
  | 'shed';

// Indexed by the native ResultKind values (icmp_engine.h).
const KINDS: readonly IcmpOutcomeKind[] = ['reply', 'reply', 'timeout', 'unreachable', 'time_exceeded', 'packet_too_big', 'parameter_problem', 'duplicate', 'send_error', 'shed'];
const DUPLICATE = 7;

export interface IcmpOutcome {
  kind: IcmpOutcomeKind;
  /** ICMP code of an error (e.g. 1 host unreachable for IPv4, 3 address unreachable for IPv6) */
  code: number;
  /** TTL / hop limit of the packet that came back; 0 when unknown */
  hopLimit: number;
  /** who answered: the target, or the router that sent the error; undefined for timeouts */
  from?: string;
  /** seconds from transmission to reception */
  rtt: number;
  /** next-hop MTU (packet_too_big), pointer (parameter_problem) or errno (send_error) */
  info: number;
  kernelRx: boolean;
  kernelTx: boolean;
  /** echo identifier and sequence the request went out with (eBPF events name packets by them); 0 when never built */
  echoId: number;
  echoSeq: number;
}

export interface IcmpEngineOptions {
  /** probes in flight at once = 2^capacityLog2 (max 20 with CAP_NET_RAW, 16 with ping sockets) */
  capacityLog2?: number;
  txTimestamps?: boolean;
  /** packets per second, 0 = unpaced */
  rate?: number;
  mode?: 'auto' | 'raw' | 'dgram';
  /** sender threads (shards), each with its own sockets; 0 or unset: one per CPU, at most 4 */
  threads?: number;
  /** the table slots each QoS class may hold (per shard); unset: the engine's defaults */
  qos?: EngineQosLimits;
}

export interface EchoOptions {
  timeoutMs: number;
  ttl?: number;
  df?: boolean;
  payloadSize?: number;
  /** source address (same family as the targets) */
  src?: string;
  /** the QoS class of these echoes (which share of the table they may take); unset: critical */
  qos?: EngineClass;
}

export interface IcmpCounters {
  sent: number;
  replies: number;
  errors: number;
  timeouts: number;
  duplicates: number;
  strays: number;
  late: number;
  sendErrors: number;
  txKernelTimestamps: number;
  rxKernelTimestamps: number;
  queued: number;
  inFlight: number;
}

// A batch of outcomes as native/glue/icmp.cc packs it: RECORD bytes per outcome, read through three
// views of the one buffer. u32 [0] tag [1] info [2] wire; u8 [12] kind [13] code [14] hop limit
// [15] family [16] flags; f64 [3] rtt; u8 [32..47] from.
const RECORD = 48;
const U32 = RECORD / 4;
const F64 = RECORD / 8;

interface Batch {
  u8: Uint8Array;
  u32: Uint32Array;
  f64: Float64Array;
}

interface NativeEngine {
  send(addrs: Uint8Array, families: Uint8Array, tags: Uint32Array, opts: object): number;
  counters(): IcmpCounters;
  setQos(limits: EngineQosLimits): void;
  ref(): void;
  unref(): void;
  close(): void;
  readonly privileged: boolean;
  readonly capacity: number;
}

type NativeCtor = new (opts: object, onBatch: (buf: ArrayBuffer, n: number) => void) => NativeEngine;

/** Thrown when no ICMP socket can be opened; the message names the capability or sysctl missing. */
export class IcmpSocketError extends Error {
  readonly code = 'ERR_SONDE_ICMP_SOCKET';
  constructor(message: string) {
    super(message);
    this.name = 'IcmpSocketError';
  }
}

/** (index into the request's targets, outcome); called once per probe, plus once per duplicate. */
export type OutcomeListener = (index: number, outcome: IcmpOutcome) => void;

/**
 * A listener that takes replies apart: `reply` gets each reply's RTT (seconds) and no outcome
 * object, so a burst of replies allocates nothing per echo; every other outcome goes to `outcome`.
 */
export interface EchoListener {
  reply(index: number, rtt: number): void;
  outcome: OutcomeListener;
}

/**
 * Targets parsed once for many echo() calls (the rounds of `sonde ping` repeat the same targets):
 * 16 bytes and a family per target, as the engine takes them.
 */
export class IcmpTargets {
  private constructor(
    readonly bytes: Uint8Array,
    readonly families: Uint8Array,
  ) {}

  /** Throws RangeError on a string that is not an IP literal. */
  static parse(addresses: readonly string[]): IcmpTargets {
    const t = new IcmpTargets(new Uint8Array(16 * addresses.length), new Uint8Array(addresses.length));
    // A call may repeat targets (a burst cycling over a few): each distinct address parsed once.
    const first = new Map<string, number>();
    for (let i = 0; i < addresses.length; i++) {
      const seen = first.get(addresses[i]);
      if (seen !== undefined) {
        t.bytes.copyWithin(i * 16, seen * 16, seen * 16 + 16);
        t.families[i] = t.families[seen];
        continue;
      }
      const p = addressBytes(addresses[i]);
      t.bytes.set(p.bytes, i * 16);
      t.families[i] = p.family;
      first.set(addresses[i], i);
    }
    return t;
  }

  get length(): number {
    return this.families.length;
  }

  /** Targets from..to-1, sharing this one's memory. */
  slice(from: number, to: number): IcmpTargets {
    return new IcmpTargets(this.bytes.subarray(from * 16, to * 16), this.families.subarray(from, to));
  }

  /** The targets at `indices`, in that order (a copy). */
  pick(indices: readonly number[]): IcmpTargets {
    const t = new IcmpTargets(new Uint8Array(16 * indices.length), new Uint8Array(indices.length));
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      t.bytes.set(this.bytes.subarray(i * 16, i * 16 + 16), k * 16);
      t.families[k] = this.families[i];
    }
    return t;
  }
}

interface Group {
  listener: OutcomeListener;
  reply?: (index: number, rtt: number) => void;
  /** index of the group's first probe in the echo() call (a call of more than GROUP_MAX targets spans groups) */
  offset: number;
  onDone?: () => void;
  size: number;
  finals: number;
  expired: boolean;
}

// A tag is group id (16 bits) : index (16 bits), so a request maps back without a per-probe map.
const GROUP_MAX = 0x10000;

export class IcmpEngine {
  private readonly native: NativeEngine;
  private readonly groups = new Map<number, Group>();
  private nextGroup = 1;
  private closed = false;

  constructor(opts: IcmpEngineOptions = {}) {
    const Ctor = binding.IcmpEngine as NativeCtor;
    const mode = opts.mode === 'raw' ? 1 : opts.mode === 'dgram' ? 2 : 0;
    try {
      this.native = new Ctor({ capacityLog2: opts.capacityLog2, txTimestamps: opts.txTimestamps, rate: opts.rate, mode, threads: opts.threads, qos: opts.qos }, (buf, n) =>
        this.onBatch({ u8: new Uint8Array(buf), u32: new Uint32Array(buf), f64: new Float64Array(buf) }, n),
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_SONDE_ICMP_SOCKET') throw new IcmpSocketError((err as Error).message);
      throw err;
    }
    this.native.unref();
  }

  /** true with raw sockets (CAP_NET_RAW), false with unprivileged ping sockets */
  get privileged(): boolean {
    return this.native.privileged;
  }

  get capacity(): number {
    return this.native.capacity;
  }

  counters(): IcmpCounters {
    return this.native.counters();
  }

  /** Per QoS class: echoes started, shed, waiting and holding a table slot. */
  classCounters(): Record<EngineClass, EngineClassCounters> {
    return classCounters(this.native.counters() as unknown as Record<string, number>);
  }

  /** New shares and queue bound (a reload), from each shard's next turn. */
  setQos(limits: EngineQosLimits): void {
    if (!this.closed) this.native.setQos(limits);
  }

  /**
   * Sends one echo to each address. `listener` gets every probe's final outcome and any duplicate
   * reply that arrives within the timeout; `onDone` runs once every probe has its final outcome.
   */
  echo(addresses: readonly string[] | IcmpTargets, opts: EchoOptions, listener: OutcomeListener | EchoListener, onDone?: () => void): void {
    if (this.closed) throw new Error('IcmpEngine is closed');
    if (!(opts.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    const native: Record<string, unknown> = {
      timeoutMs: Math.ceil(opts.timeoutMs),
      ttl: opts.ttl ?? 0,
      df: opts.df ?? false,
      payloadSize: opts.payloadSize ?? 56,
      qos: engineClassNumber(opts.qos),
    };
    if (opts.src !== undefined) native.src = addressBytes(opts.src).bytes;
    const targets = addresses instanceof IcmpTargets ? addresses : IcmpTargets.parse(addresses);
    const count = targets.length;
    let pendingChunks = Math.ceil(count / GROUP_MAX);
    if (pendingChunks === 0) {
      onDone?.();
      return;
    }
    const chunkDone = onDone ? () => (--pendingChunks === 0 ? onDone() : undefined) : undefined;
    const outcome = typeof listener === 'function' ? listener : listener.outcome;
    const reply = typeof listener === 'function' ? undefined : listener.reply;
    for (let start = 0; start < count; start += GROUP_MAX) {
      const n = Math.min(GROUP_MAX, count - start);
      const gid = this.allocGroup();
      this.groups.set(gid, { listener: outcome, reply, offset: start, onDone: chunkDone, size: n, finals: 0, expired: false });
      const chunk = n === count ? targets : targets.slice(start, start + n);
      const tags = new Uint32Array(n);
      const base = (gid << 16) >>> 0;
      for (let i = 0; i < n; i++) tags[i] = base | i;
      if (this.groups.size === 1) this.native.ref();
      this.native.send(chunk.bytes, chunk.families, tags, native);
      // Keep the group past its deadline so duplicates still find it; the engine sends nothing after.
      setTimeout(() => this.expire(gid), opts.timeoutMs + 100).unref();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
    this.groups.clear();
  }

  private allocGroup(): number {
    for (let tries = 0; tries < GROUP_MAX; tries++) {
      const gid = this.nextGroup;
      this.nextGroup = this.nextGroup === GROUP_MAX - 1 ? 1 : this.nextGroup + 1;
      if (!this.groups.has(gid)) return gid;
    }
    throw new RangeError('too many echo requests in flight (65535 groups)');
  }

  private expire(gid: number): void {
    const g = this.groups.get(gid);
    if (!g) return;
    g.expired = true;
    if (g.finals >= g.size) this.dropGroup(gid);
  }

  private dropGroup(gid: number): void {
    this.groups.delete(gid);
    if (this.groups.size === 0 && !this.closed) this.native.unref();
  }

  // Replies come from a bounded set of addresses; IPv4 texts are cached by their 32-bit value.
  private readonly v4Text = new Map<number, string>();
  private fromText(u8: Uint8Array, o: number, fam: number): string {
    if (fam === 6) return formatAddress(u8.subarray(o, o + 16), 6);
    const key = ((u8[o] << 24) | (u8[o + 1] << 16) | (u8[o + 2] << 8) | u8[o + 3]) >>> 0;
    let text = this.v4Text.get(key);
    if (text === undefined) {
      text = `${u8[o]}.${u8[o + 1]}.${u8[o + 2]}.${u8[o + 3]}`;
      if (this.v4Text.size < 65536) this.v4Text.set(key, text);
    }
    return text;
  }

  private onBatch(b: Batch, n: number): void {
    // A batch mostly holds runs of one group (one echo() call): its Map lookup is done once a run.
    let gid = -1;
    let g: Group | undefined;
    for (let i = 0; i < n && !this.closed; i++) {
      const tag = b.u32[i * U32];
      if (tag >>> 16 !== gid) {
        gid = tag >>> 16;
        g = this.groups.get(gid);
      }
      if (!g) continue;
      const k = b.u8[i * RECORD + 12];
      const index = (tag & 0xffff) + g.offset;
      if (k <= 1 && g.reply) g.reply(index, b.f64[i * F64 + 3]);
      else g.listener(index, this.outcomeAt(b, i));
      if (k !== DUPLICATE && ++g.finals === g.size) {
        g.onDone?.();
        if (g.expired) {
          this.dropGroup(gid);
          gid = -1; // dropped: later records of it find no group, as before the cache
        }
      }
    }
  }

  private outcomeAt(b: Batch, i: number): IcmpOutcome {
    const at = i * RECORD;
    const fam = b.u8[at + 15];
    const flags = b.u8[at + 16];
    const wire = b.u32[i * U32 + 2];
    return {
      kind: KINDS[b.u8[at + 12]] ?? 'send_error',
      code: b.u8[at + 13],
      hopLimit: b.u8[at + 14],
      from: fam === 4 || fam === 6 ? this.fromText(b.u8, at + 32, fam) : undefined,
      rtt: b.f64[i * F64 + 3],
      info: b.u32[i * U32 + 1],
      kernelRx: (flags & 1) !== 0,
      kernelTx: (flags & 2) !== 0,
      echoId: wire >>> 16,
      echoSeq: wire & 0xffff,
    };
  }
}
