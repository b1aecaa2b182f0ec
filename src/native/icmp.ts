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

interface NativeBatch {
  length: number;
  tag: Uint32Array;
  kind: Uint8Array;
  code: Uint8Array;
  hopLimit: Uint8Array;
  family: Uint8Array;
  flags: Uint8Array;
  info: Uint32Array;
  rtt: Float64Array;
  from: Uint8Array;
  wire: Uint32Array;
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

type NativeCtor = new (opts: object, onBatch: (b: NativeBatch) => void) => NativeEngine;

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

interface Group {
  listener: OutcomeListener;
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
      this.native = new Ctor({ capacityLog2: opts.capacityLog2, txTimestamps: opts.txTimestamps, rate: opts.rate, mode, threads: opts.threads, qos: opts.qos }, (b) => this.onBatch(b));
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
  echo(addresses: readonly string[], opts: EchoOptions, listener: OutcomeListener, onDone?: () => void): void {
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
    // Rounds repeat the same targets: parse each distinct address once.
    const cache = new Map<string, { family: 4 | 6; bytes: Uint8Array }>();
    const parsed = addresses.map((a) => {
      let p = cache.get(a);
      if (!p) cache.set(a, (p = addressBytes(a)));
      return p;
    });
    let pendingChunks = Math.ceil(addresses.length / GROUP_MAX);
    if (pendingChunks === 0) {
      onDone?.();
      return;
    }
    const chunkDone = onDone ? () => (--pendingChunks === 0 ? onDone() : undefined) : undefined;
    for (let start = 0; start < addresses.length; start += GROUP_MAX) {
      const n = Math.min(GROUP_MAX, addresses.length - start);
      const gid = this.allocGroup();
      const offset = start;
      this.groups.set(gid, { listener: (i, o) => listener(i + offset, o), onDone: chunkDone, size: n, finals: 0, expired: false });
      const addrs = new Uint8Array(16 * n);
      const fams = new Uint8Array(n);
      const tags = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        addrs.set(parsed[start + i].bytes, i * 16);
        fams[i] = parsed[start + i].family;
        tags[i] = ((gid << 16) | i) >>> 0;
      }
      if (this.groups.size === 1) this.native.ref();
      this.native.send(addrs, fams, tags, native);
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
  private fromText(from: Uint8Array, i: number, fam: number): string {
    const o = i * 16;
    if (fam === 6) return formatAddress(from.subarray(o, o + 16), 6);
    const key = ((from[o] << 24) | (from[o + 1] << 16) | (from[o + 2] << 8) | from[o + 3]) >>> 0;
    let text = this.v4Text.get(key);
    if (text === undefined) {
      text = `${from[o]}.${from[o + 1]}.${from[o + 2]}.${from[o + 3]}`;
      if (this.v4Text.size < 65536) this.v4Text.set(key, text);
    }
    return text;
  }

  private onBatch(b: NativeBatch): void {
    for (let i = 0; i < b.length; i++) {
      const tag = b.tag[i];
      const gid = tag >>> 16;
      const g = this.groups.get(gid);
      if (!g) continue;
      const kind = KINDS[b.kind[i]] ?? 'send_error';
      const fam = b.family[i];
      const outcome: IcmpOutcome = {
        kind,
        code: b.code[i],
        hopLimit: b.hopLimit[i],
        from: fam === 4 || fam === 6 ? this.fromText(b.from, i, fam) : undefined,
        rtt: b.rtt[i],
        info: b.info[i],
        kernelRx: (b.flags[i] & 1) !== 0,
        kernelTx: (b.flags[i] & 2) !== 0,
        echoId: b.wire[i] >>> 16,
        echoSeq: b.wire[i] & 0xffff,
      };
      if (kind !== 'duplicate') g.finals++;
      g.listener(tag & 0xffff, outcome);
      if (kind !== 'duplicate' && g.finals === g.size) {
        g.onDone?.();
        if (g.expired) this.dropGroup(gid);
      }
    }
  }
}
