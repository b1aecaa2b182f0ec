// Typed wrapper over the native trace engine (native/glue/trace.cc): TTL-limited ICMP, UDP and TCP
// SYN probes with Paris-traceroute flow identifiers, outcomes delivered in batches of typed arrays
// and turned here into per-probe callbacks. One engine per runtime (src/runtime.ts).
import { binding } from './addon';
import { addressBytes, formatAddress } from './ipaddr';

export type TraceProto = 'icmp' | 'udp' | 'tcp';

export type TraceOutcomeKind = 'time_exceeded' | 'unreachable' | 'echo_reply' | 'tcp_synack' | 'tcp_rst' | 'timeout' | 'send_error';

// Indexed by the native TraceKind values (trace_engine.h).
const KINDS: readonly TraceOutcomeKind[] = ['send_error', 'time_exceeded', 'unreachable', 'echo_reply', 'tcp_synack', 'tcp_rst', 'timeout', 'send_error'];

const PROTO_NUMBERS: Record<TraceProto, number> = { icmp: 1, tcp: 6, udp: 17 };

export interface TraceOutcome {
  kind: TraceOutcomeKind;
  /** ICMP code of an error (IPv4 3: port unreachable, IPv6 4: port unreachable) */
  code: number;
  /** who answered: a router, or the target; undefined for timeouts and send errors */
  from?: string;
  /** seconds from transmission to reception */
  rtt: number;
  /** next-hop MTU (packet too big) or errno (send_error) */
  info: number;
  /** TTL left in the probe quoted by an ICMP error (1 normally; more: the router rewrote it) */
  quotedTtl: number;
  /**
   * What names the probe on the wire (0 when no packet was built): the ICMP sequence, the IPv4
   * identification of a UDP probe, and the TCP sequence's high half all carry `key`; `gen` is the TCP
   * sequence's low half. With the flow (ICMP id / source port) it finds the probe's eBPF events.
   */
  key: number;
  gen: number;
  /** CLOCK_MONOTONIC seconds at send (the clock of eBPF event times), 0 when never sent */
  sentAt: number;
}

export interface TraceProbeSpec {
  address: string;
  ttl: number;
  /** ICMP identifier or UDP/TCP source port: fixed per Paris flow */
  flow: number;
}

export interface TraceSendOptions {
  proto: TraceProto;
  /** UDP/TCP destination port */
  port: number;
  timeoutMs: number;
  payloadSize?: number;
}

export interface TraceCounters {
  sent: number;
  answered: number;
  timeouts: number;
  strays: number;
  late: number;
  sendErrors: number;
}

interface NativeBatch {
  length: number;
  tag: Uint32Array;
  kind: Uint8Array;
  code: Uint8Array;
  family: Uint8Array;
  quotedTtl: Uint8Array;
  info: Uint32Array;
  rtt: Float64Array;
  from: Uint8Array;
  key: Uint16Array;
  gen: Uint16Array;
  sentMono: Float64Array;
}

interface NativeEngine {
  send(dsts: Uint8Array, families: Uint8Array, tags: Uint32Array, ttls: Uint8Array, flows: Uint16Array, opts: object): number;
  counters(): TraceCounters;
  ref(): void;
  unref(): void;
  close(): void;
}

type NativeCtor = new (onBatch: (b: NativeBatch) => void) => NativeEngine;

/** Thrown when the raw sockets cannot be opened (the message names CAP_NET_RAW). */
export class TraceSocketError extends Error {
  readonly code = 'ERR_SONDE_TRACE_SOCKET';
  constructor(message: string) {
    super(message);
    this.name = 'TraceSocketError';
  }
}

type Listener = (outcome: TraceOutcome) => void;

export class TraceEngine {
  private readonly native: NativeEngine;
  private readonly waiting = new Map<number, Listener>();
  private nextTag = 1;
  private closed = false;

  constructor() {
    const Ctor = binding.TraceEngine as NativeCtor;
    try {
      this.native = new Ctor((b) => this.onBatch(b));
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_SONDE_TRACE_SOCKET') throw new TraceSocketError((err as Error).message);
      throw err;
    }
    this.native.unref();
  }

  counters(): TraceCounters {
    return this.native.counters();
  }

  /** Sends the probes; `listener(i, outcome)` runs exactly once per probe, `onDone` after the last. */
  send(probes: readonly TraceProbeSpec[], opts: TraceSendOptions, listener: (index: number, o: TraceOutcome) => void, onDone?: () => void): void {
    if (this.closed) throw new Error('TraceEngine is closed');
    const n = probes.length;
    if (n === 0) {
      onDone?.();
      return;
    }
    const dsts = new Uint8Array(16 * n);
    const fams = new Uint8Array(n);
    const tags = new Uint32Array(n);
    const ttls = new Uint8Array(n);
    const flows = new Uint16Array(n);
    const cache = new Map<string, { family: 4 | 6; bytes: Uint8Array }>();
    let left = n;
    for (let i = 0; i < n; i++) {
      const p = probes[i];
      let a = cache.get(p.address);
      if (!a) cache.set(p.address, (a = addressBytes(p.address)));
      dsts.set(a.bytes, i * 16);
      fams[i] = a.family;
      ttls[i] = p.ttl;
      flows[i] = p.flow;
      const tag = this.allocTag();
      tags[i] = tag;
      const index = i;
      this.waiting.set(tag, (o) => {
        listener(index, o);
        if (--left === 0) onDone?.();
      });
    }
    if (this.waiting.size === n) this.native.ref();
    this.native.send(dsts, fams, tags, ttls, flows, {
      proto: PROTO_NUMBERS[opts.proto],
      port: opts.port,
      timeoutMs: Math.max(1, Math.ceil(opts.timeoutMs)),
      payloadSize: opts.payloadSize ?? 24,
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
    this.waiting.clear();
  }

  private allocTag(): number {
    // Tags wrap at 2^32; the engine holds at most 65535 probes, so a live tag is never reused.
    let tag = this.nextTag;
    while (this.waiting.has(tag) || tag === 0) tag = (tag + 1) >>> 0;
    this.nextTag = (tag + 1) >>> 0;
    return tag;
  }

  private onBatch(b: NativeBatch): void {
    for (let i = 0; i < b.length; i++) {
      const tag = b.tag[i];
      const listener = this.waiting.get(tag);
      if (!listener) continue;
      this.waiting.delete(tag);
      const fam = b.family[i];
      listener({
        kind: KINDS[b.kind[i]] ?? 'send_error',
        code: b.code[i],
        from: fam === 4 || fam === 6 ? formatAddress(b.from.subarray(i * 16, i * 16 + 16), fam) : undefined,
        rtt: b.rtt[i],
        info: b.info[i],
        quotedTtl: b.quotedTtl[i],
        key: b.key[i],
        gen: b.gen[i],
        sentAt: b.sentMono[i],
      });
    }
    if (this.waiting.size === 0 && !this.closed) this.native.unref();
  }
}
