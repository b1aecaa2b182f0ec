// Typed wrapper over the native stream engine (native/glue/stream.cc): TCP connect probes and
// plain HTTP/1.x probes run on the engine's own thread; results come back in batches of typed
// arrays and are turned into per-probe promises here. A StreamPool per runtime (src/runtime.ts).
import { constants as osConstants } from 'node:os';
import { binding } from './addon';
import { addressBytes } from './ipaddr';
import { addClassCounters, classCounters, engineClassNumber, type EngineClass, type EngineClassCounters, type EngineQosLimits } from './qos';
import { AnswerBatch, type AnswerSeries, decodeAsks, decodeGone, type GatewayAsk, type GatewayHandlers, type GatewayLimits } from './stream_gateway';

export type { GatewayAsk, GatewayHandlers, GatewayLimits } from './stream_gateway';

/** shed: never queued, its QoS class's queue in the engine was past its bound (errno ENOBUFS) */
export type StreamPhase = 'queued' | 'connect' | 'write' | 'processing' | 'transfer' | 'done' | 'shed';
// Indexed by the native StreamPhase values (stream_engine.h).
const PHASES: readonly StreamPhase[] = ['queued', 'connect', 'write', 'processing', 'transfer', 'done', 'shed'];

export type HttpParseError =
  | 'status_line'
  | 'header_syntax'
  | 'headers_too_large'
  | 'content_length'
  | 'chunk_syntax'
  | 'truncated'
  | 'body_too_large';
// Indexed by the native HttpParseError values (http_parse.h); 0 is "none".
const PARSE_ERRORS: readonly (HttpParseError | undefined)[] = [
  undefined,
  'status_line',
  'header_syntax',
  'headers_too_large',
  'content_length',
  'chunk_syntax',
  'truncated',
  'body_too_large',
];

// Flags as native/stream/engine.h defines them.
const FLAG_HTTP = 1;
const FLAG_GRACEFUL = 2;
const FLAG_HEAD = 4;
const FLAG_DATAGRAM = 8;

export interface StreamRequest {
  /** IPv4 or IPv6 literal (resolve names first) */
  address: string;
  port: number;
  /** whole probe, from submission (time waiting for a free engine slot counts) */
  timeoutMs: number;
  /** HTTP/1.x request bytes, which should say "Connection: close"; absent: connect-only probe */
  request?: Buffer;
  /** the request is HEAD: no body follows the response head */
  headRequest?: boolean;
  /** connect-only: close with FIN (leaves TIME_WAIT here) instead of RST */
  graceful?: boolean;
  /** body bytes allowed; more is a failure with parseError 'body_too_large'. 0 or absent: none */
  bodyLimit?: number;
  /** bytes of the raw response head to return (default 16 KiB) */
  headerCapture?: number;
  /** source address to bind (same family as address) */
  sourceAddress?: string;
  /** IPv6 zone index for link-local targets */
  scopeId?: number;
  /** source port to bind (0 or absent: the kernel picks one at connect time) */
  sourcePort?: number;
  /**
   * A UDP exchange instead of TCP: `request` is sent as one datagram on a connected socket and the
   * first datagram back whose first `matchBytes` bytes equal the request's (or that is shorter) is the answer
   * (`payload`, up to headerCapture bytes); others from the peer are counted in `foreign`.
   */
  datagram?: { matchBytes: number };
}

/** Who may cancel a probe: ProbeContext.cancellable (src/probers/types.ts); and its QoS class. */
export interface CancelOwner {
  cancellable?(cancel: () => void): void;
  /** the class of the probe the owner runs: which share of the engine's slots it may take (unset: critical) */
  readonly qos?: EngineClass;
}

export interface StreamTimings {
  /** socket to handshake done (or to the failure) */
  connect: number;
  /** handshake done to the first response byte, as blackbox's "processing" */
  processing: number;
  /** first response byte to the end of the response */
  transfer: number;
  /** handshake done to the request fully written */
  write: number;
  total: number;
}

export interface StreamResult {
  /** 0 on success; else ECONNREFUSED, ETIMEDOUT, ECONNRESET..., EPROTO for an HTTP parse error */
  errno: number;
  /** errno as its name, e.g. 'ECONNREFUSED' (undefined on success) */
  code?: string;
  /** 'done' on success, else where the probe was when it failed */
  phase: StreamPhase;
  parseError?: HttpParseError;
  /** seconds */
  timings: StreamTimings;
  /** 0 when no status line arrived */
  statusCode: number;
  /** 1.0 or 1.1; 0 when no status line arrived */
  httpVersion: number;
  /** Content-Length, -1 when absent or chunked (as blackbox) */
  contentLength: number;
  /** body bytes received (after chunked decoding), at most bodyLimit */
  bodyBytes: number;
  /** raw response head (status line and fields, CRLFs included), up to headerCapture bytes */
  head: string;
  localPort: number;
  /** datagram: the answer's bytes (undefined when none came); bodyBytes is its full size */
  payload?: Buffer;
  /** datagram: datagrams from the peer that did not match the request */
  foreign: number;
}

interface NativeStreamEngine {
  submit(
    id: number,
    family: number,
    addr: Uint8Array,
    port: number,
    timeoutMs: number,
    flags: number,
    request: Buffer | null,
    bodyLimit: number,
    headerCap: number,
    src: Uint8Array | null,
    scopeId: number,
    srcPort: number,
    qos: number,
    matchLen: number,
  ): void;
  counters(): Record<string, number>;
  setQos(limits: EngineQosLimits): void;
  listen(family: number, addr: Uint8Array, port: number, maxConnections: number, maxPerClient: number, headerTimeoutMs: number): number;
  cancel(ids: Uint32Array): void;
  shareListener(other: NativeStreamEngine): void;
  answer(meta: Float64Array, contentTypes: string[], bodies: Uint8Array): void;
  flush(): void;
  close(): void;
  readonly capacity: number;
}
type NativeStreamCtor = new (
  options: { capacity?: number; qos?: EngineQosLimits },
  onBatch: (
    records: Float64Array,
    heads: Buffer,
    n: number,
    handoffs: number[],
    askMeta: Float64Array | null,
    askText: string | null,
    gone: Float64Array | null,
  ) => void,
) => NativeStreamEngine;

// Record layout, as native/glue/stream.cc writes it.
const STRIDE = 17;

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

interface Pending {
  id: number;
  resolve: (r: StreamResult) => void;
  reject: (e: Error) => void;
  datagram: boolean;
}

// Continuous mode submits the same targets' addresses over and over: each is parsed once. The
// engine copies the bytes at submit, so one Uint8Array serves every probe to the address.
const MAX_CACHED_ADDRESSES = 65536;
const parsedAddresses = new Map<string, ReturnType<typeof addressBytes>>();

function parsedAddress(address: string): ReturnType<typeof addressBytes> {
  let p = parsedAddresses.get(address);
  if (p === undefined) {
    p = addressBytes(address); // throws RangeError before anything is cached
    if (parsedAddresses.size >= MAX_CACHED_ADDRESSES) parsedAddresses.clear();
    parsedAddresses.set(address, p);
  }
  return p;
}

class StreamClient {
  private readonly engine: NativeStreamEngine;
  // Probes in flight, each at its id's slot (id & (length - 1)), as a Map keyed by id would hold
  // them: a Map's table grew and shrank with every batch of results, allocations that were a tenth
  // of the JS thread's work at tens of thousands of probes a second. Ids still count up (a stale
  // cancel() never reaches a newer probe); allocateId skips an id whose slot is taken.
  private pending: (Pending | undefined)[] = new Array<Pending | undefined>(256).fill(undefined);
  private inFlight = 0;
  private nextId = 1;
  private gateway?: GatewayHandlers;
  private readonly answers: AnswerBatch;

  constructor(capacity?: number, qos?: EngineQosLimits) {
    const Ctor = binding.StreamEngine as NativeStreamCtor;
    this.engine = new Ctor({ ...(capacity === undefined ? {} : { capacity }), ...(qos === undefined ? {} : { qos }) }, (r, h, n, handoffs, askMeta, askText, gone) => {
      this.onBatch(r, h, n);
      for (const fd of handoffs) this.gateway?.handoff(fd);
      if (askMeta !== null && askText !== null && this.gateway) decodeAsks(askMeta, askText, this.gateway);
      // After the asks: a client may leave in the batch that brought its request.
      if (gone !== null && this.gateway) decodeGone(gone, this.gateway);
    });
    this.answers = new AnswerBatch(this.engine);
  }

  /** Starts the /probe gateway's listener on the engine's thread; returns the bound port. */
  listen(address: string, port: number, handlers: GatewayHandlers, limits: GatewayLimits): number {
    const a = addressBytes(address);
    this.gateway = handlers;
    return this.engine.listen(a.family, a.bytes, port, limits.maxConnections, limits.maxPerClient, limits.headerTimeoutMs);
  }

  /** Accepts on `other`'s listener (the same socket) from this engine's thread too. */
  shareListener(other: GatewayEngine, handlers: GatewayHandlers): void {
    if (!(other instanceof StreamClient)) throw new TypeError('shareListener: not a StreamClient');
    this.gateway = handlers;
    this.engine.shareListener(other.engine);
  }

  /** Queues the answer to an ask; the answers of a turn reach the engine together. */
  answer(a: GatewayAsk, status: number, contentType: string, body: string | AnswerSeries): void {
    this.answers.add(a, status, contentType, body);
    this.flushSoon();
  }

  get capacity(): number {
    return this.engine.capacity;
  }

  counters(): Record<string, number> {
    return this.engine.counters();
  }

  setQos(limits: EngineQosLimits): void {
    this.engine.setQos(limits);
  }

  /**
   * Runs one probe. `owner.cancellable`, when there, is handed the function that ends the probe
   * early (its result then arrives at once, with ECANCELED).
   */
  probe(req: StreamRequest, owner?: CancelOwner): Promise<StreamResult> {
    const dst = parsedAddress(req.address);
    let src: Uint8Array | null = null;
    if (req.sourceAddress !== undefined) {
      const s = parsedAddress(req.sourceAddress);
      if (s.family !== dst.family) {
        throw new RangeError(`sourceAddress ${req.sourceAddress} is not of the family of ${req.address}`);
      }
      src = s.bytes;
    }
    let flags = 0;
    if (req.datagram !== undefined) flags |= FLAG_DATAGRAM;
    else if (req.request !== undefined) flags |= FLAG_HTTP;
    if (req.headRequest) flags |= FLAG_HEAD;
    if (req.graceful) flags |= FLAG_GRACEFUL;
    return new Promise<StreamResult>((resolve, reject) => {
      const id = this.allocateId();
      const slot = id & (this.pending.length - 1);
      this.pending[slot] = { id, resolve, reject, datagram: req.datagram !== undefined };
      this.inFlight++;
      try {
        // Validation errors from submit (TypeError/RangeError) reject this promise.
        this.engine.submit(
          id,
          dst.family,
          dst.bytes,
          req.port,
          req.timeoutMs,
          flags,
          req.request ?? null,
          req.bodyLimit ?? 0,
          req.request === undefined ? 0 : (req.headerCapture ?? (req.datagram ? 65535 : 16384)),
          src,
          req.scopeId ?? 0,
          req.sourcePort ?? 0,
          engineClassNumber(owner?.qos),
          req.datagram?.matchBytes ?? 0,
        );
      } catch (err) {
        this.pending[slot] = undefined;
        this.inFlight--;
        throw err;
      }
      this.flushSoon();
      if (owner?.cancellable) owner.cancellable(() => this.engine.cancel(Uint32Array.of(id)));
    });
  }

  // The engine's thread is woken once per JS turn, for the probes submitted (a batch of /probe
  // asks, a scheduler tick) and the answers written in it together: an eventfd write per probe
  // cost more than the submission itself. setImmediate runs after the turn's promise reactions,
  // when the answers of the batch that woke the turn are all rendered.
  private flushDue = false;
  private flushSoon(): void {
    if (this.flushDue) return;
    this.flushDue = true;
    setImmediate(this.flush);
  }
  private readonly flush = (): void => {
    this.flushDue = false;
    this.answers.flush(); // the engine's answer() wakes its thread for the submissions too
    this.engine.flush();
  };

  close(): void {
    this.engine.close();
    const err = new Error('stream engine closed');
    const pending = this.pending;
    this.pending = new Array<Pending | undefined>(256).fill(undefined);
    this.inFlight = 0;
    for (const p of pending) p?.reject(err);
  }

  /** A uint32 id (never 0) whose slot is free; the table doubles while it is half full or more. */
  private allocateId(): number {
    if (this.inFlight * 2 >= this.pending.length) this.grow();
    const mask = this.pending.length - 1;
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 0xffffffff ? 1 : id + 1;
      if (this.pending[id & mask] === undefined) return id;
    }
  }

  // Distinct slots of a table stay distinct in one twice its size (their ids differ below the old size).
  private grow(): void {
    const next = new Array<Pending | undefined>(this.pending.length * 2).fill(undefined);
    const mask = next.length - 1;
    for (const p of this.pending) if (p !== undefined) next[p.id & mask] = p;
    this.pending = next;
  }

  private onBatch(r: Float64Array, heads: Buffer, n: number): void {
    for (let i = 0; i < n; i++) {
      const o = i * STRIDE;
      const id = r[o];
      const slot = id & (this.pending.length - 1);
      const p = this.pending[slot];
      if (p === undefined || p.id !== id) continue;
      this.pending[slot] = undefined;
      this.inFlight--;
      const errno = r[o + 1];
      const minor = r[o + 5];
      const headAt = r[o + 13];
      const headLen = r[o + 14];
      const datagram = p.datagram;
      p.resolve({
        errno,
        code: errno === 0 ? undefined : (ERRNO_NAMES.get(errno) ?? `errno ${errno}`),
        phase: PHASES[r[o + 2]] ?? 'connect',
        parseError: PARSE_ERRORS[r[o + 3]],
        statusCode: r[o + 4],
        httpVersion: minor < 0 ? 0 : 1 + minor / 10,
        contentLength: r[o + 6],
        bodyBytes: r[o + 7],
        timings: { connect: r[o + 8], processing: r[o + 9], transfer: r[o + 10], total: r[o + 11], write: r[o + 15] },
        localPort: r[o + 12],
        head: datagram ? '' : heads.toString('latin1', headAt, headAt + headLen),
        payload: datagram && errno === 0 ? heads.subarray(headAt, headAt + headLen) : undefined,
        foreign: r[o + 16],
      });
    }
  }
}

export type GatewayEngine = Pick<StreamClient, 'listen' | 'shareListener' | 'answer' | 'counters'>;

/**
 * The stream engines of one runtime (src/runtime.ts): one engine thread, started on first use, and
 * more for the /probe gateway (gatewayEngines), which then share the probes of probe() in turn:
 * one engine thread is the limit of a busy probe host.
 */
export class StreamPool {
  private first: StreamClient | undefined;
  // Engines beyond the first, each on its own thread.
  private extra: StreamClient[] = [];
  private turn = 0;

  /**
   * capacity: the slot count of each engine (probes with an open socket at once, default 4096,
   * clamped to half of RLIMIT_NOFILE).
   */
  constructor(private readonly opts: { capacity?: number; qos?: EngineQosLimits } = {}) {}

  private client(): StreamClient {
    this.first ??= new StreamClient(this.opts.capacity, this.opts.qos);
    return this.first;
  }

  /** New shares and queue bound for every engine (a reload); engines made later start with them. */
  setQos(limits: EngineQosLimits): void {
    this.opts.qos = limits;
    this.first?.setQos(limits);
    for (const e of this.extra) e.setQos(limits);
  }

  /** Per QoS class over the engines made so far (undefined: none yet): probes started, shed, waiting and holding a slot. */
  classCountersIfStarted(): Record<EngineClass, EngineClassCounters> | undefined {
    if (this.first === undefined) return undefined;
    const all = classCounters({});
    for (const e of [this.first, ...this.extra]) addClassCounters(all, classCounters(e.counters()));
    return all;
  }

  /** Runs one TCP connect or plain HTTP probe, on the engines in turn. */
  probe(req: StreamRequest, owner?: CancelOwner): Promise<StreamResult> {
    try {
      const extra = this.extra;
      let c: StreamClient;
      if (extra.length === 0) c = this.client();
      else if (req.sourcePort !== undefined && req.sourcePort > 0) {
        // By port: the engine that kept a socket bound to it (KeepBound) gets the next probe from it.
        const k = req.sourcePort % (extra.length + 1);
        c = k === 0 ? this.client() : extra[k - 1];
      } else {
        c = this.turn === 0 ? this.client() : extra[this.turn - 1];
        this.turn = this.turn >= extra.length ? 0 : this.turn + 1;
      }
      return c.probe(req, owner);
    } catch (e) {
      return Promise.reject(e as Error); // bad arguments: TypeError / RangeError
    }
  }

  /** Slots of an engine (probes with an open socket at once; the rest wait in its queue). */
  get capacity(): number {
    return this.client().capacity;
  }

  /**
   * `n` engines for the /probe gateway (src/api/gateway.ts): the first engine and n-1 more. One
   * engine thread answering every /probe request was the limit with cores to spare.
   */
  gatewayEngines(n: number): GatewayEngine[] {
    while (this.extra.length < n - 1) this.extra.push(new StreamClient(this.opts.capacity, this.opts.qos));
    return [this.client(), ...this.extra.slice(0, Math.max(0, n - 1))];
  }

  counters(): Record<string, number> {
    return this.client().counters();
  }

  /** Stops the engines; pending probes reject. The next probe() starts a new engine. */
  close(): void {
    this.first?.close();
    this.first = undefined;
    for (const e of this.extra) e.close();
    this.extra = [];
    this.turn = 0;
  }
}
