// Typed wrapper of the eBPF drop tracer and XDP observer (native/glue/bpf.cc). When eBPF cannot be used
// (no CAP_BPF/CAP_PERFMON, no BTF, objects not built, load refused) openDropTracer() returns null after
// reporting ONE "eBPF unavailable: <what is missing>" message per process; callers go on without it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

// dist/src/native -> the checkout (as addon.ts computes it; not imported, so a missing addon stays a soft failure)
const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

export type Direction = 'ingress' | 'egress' | 'unknown';

export interface BpfEvent {
  kind: 'drop' | 'xdp';
  /** CLOCK_MONOTONIC seconds (bpf_ktime_get_ns) */
  time: number;
  /** the flow's id from addFlow(), 0 when the packet matched no probe flow (reportAll) */
  flowId: number;
  /** kernel drop reason name without SKB_DROP_REASON_ (drop events only) */
  reason?: string;
  reasonCode?: number;
  /** kernel symbol+offset that freed the skb (drop events only) */
  location?: string;
  direction: Direction;
  ifindex: number;
  netns: number;
  family: 0 | 4 | 6;
  proto: number;
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  icmpType?: number;
  icmpSeq?: number;
  tcpFlags?: number;
  /** TCP sequence number, else the IPv4 identification (tells a trace's probes of one flow apart); 0 otherwise */
  wireTag: number;
  len: number;
}

export interface DropTracerOptions {
  /** report every dropped packet, not only those of registered flows (`sonde drops --all`) */
  reportAll?: boolean;
  /** netns inode whose drops count as local; 'self' (default) = this process's, 0 = every namespace */
  localNetns?: number | 'self';
  /** flow map entries (default 65536) */
  maxFlows?: number;
  /** ring buffer bytes (default 1 MiB, rounded up to a power of two) */
  ringBytes?: number;
  /** `seen` map entries: replies recorded by the XDP observer, per echo or per flow (default 65536, LRU) */
  maxSeen?: number;
  /** XDP also sends one ring event per matched reply (default false: the seen map is read for lost probes only) */
  xdpEvents?: boolean;
  /** enable BPF run-time statistics while running (default true) */
  runStats?: boolean;
  /** where drop.bpf.o and xdp_observe.bpf.o are (default build/bpf) */
  objectDir?: string;
}

export type FlowSpec =
  | { protocol: 'tcp' | 'udp'; local: string; localPort: number; remote: string; remotePort: number }
  | { protocol: 'icmp' | 'icmp6'; local: string; remote: string; echoId: number }
  /** any address: matches on protocol and local port (ICMP: echo id) alone */
  | { protocol: 'tcp' | 'udp' | 'icmp' | 'icmp6'; wildcardPort: number }
  /** any local address and port (ICMP: any echo id) to or from one remote service (ICMP: remotePort 0) */
  | { protocol: 'tcp' | 'udp' | 'icmp' | 'icmp6'; remote: string; remotePort: number; anyLocal: true };

export interface FlowState {
  xdpPackets: number;
  xdpLastTime: number;
  drops: number;
}

/** What the XDP observer recorded of one probe's replies (times: CLOCK_MONOTONIC seconds, as BpfEvent.time). */
export interface SeenRecord {
  firstTime: number;
  lastTime: number;
  packets: number;
}

export interface ProgramStats {
  name: string;
  /** kernel program id (`bpftool prog show id N`) */
  id: number;
  runCnt: number;
  runTimeNs: number;
  /** run_time_ns / run_cnt, 0 before the first run */
  nsPerRun: number;
}

export class BpfUnavailableError extends Error {
  readonly code = 'EBPF_UNAVAILABLE';
  constructor(readonly missing: string) {
    super(`eBPF unavailable: ${missing}`);
    this.name = 'BpfUnavailableError';
  }
}

const PROTO: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmp6: 58 };
type FlowArgs = [number, string, number, string, number];

interface NativeTracer {
  addFlow(...args: [...FlowArgs, number]): number;
  removeFlow(...args: FlowArgs): number;
  flowState(...args: FlowArgs): (FlowState & { flowId: number }) | null;
  portFlows(offset: number, length: number): ArrayBuffer | null;
  portFlowsBytes(): number;
  seen(flowId: number, wire: number): SeenRecord | null;
  attachXdp(ifindex: number): void;
  detachXdp(ifindex: number): void;
  requestDrain(): number;
  stats(): { programs: Array<{ name: string; id: number; runCnt: number; runTimeNs: number }>; eventsLost: number; xdpMatched: number };
  stop(): void;
}
type NativeCtor = new (opts: object, cb: (events: BpfEvent[], drained: number) => void) => NativeTracer;

interface NativeBpf {
  BpfTracer: NativeCtor;
  bpfReasonNames(): Record<string, string>;
  bpfSelfNetns(): number;
  bpfKernelSymbol(addr: bigint): string;
}

/**
 * Which flow owns a kernel key. Wildcard port keys (one per fast-path probe, thousands a second) are
 * a number, which is cheaper to make and hash than the joined text the other kinds use.
 */
function ownerKey(args: FlowArgs): string | number {
  return args[1] === '' && args[3] === '' && args[4] === 0 ? args[0] * 65536 + args[2] : args.join('|');
}

// The `port_flows` array (bpf/drop.h): a 32-byte struct sonde_flow_state per local TCP port, then per
// UDP port; as 32-bit words: flow_id at 0, then pad and three u64 counters (xdp_packets,
// xdp_last_ns, drops).
const PORT_SLOT_WORDS = 8;
const PORT_FLOWS_UDP = 65536;
// The array is mapped by windows of 512 slots (16 KiB) at their first use: the kernel makes every
// page of a mapped BPF array resident at mmap, and the whole array (4 MiB) was 5% of an idle
// daemon's RSS where its probes use a few ports (issue 11). Sonde's own source ports
// (src/probers/source_ports.ts, 20000-32767) fill at most 25 TCP windows.
const PORT_WINDOW_LOG2 = 9;
const PORT_WINDOW_SLOTS = 1 << PORT_WINDOW_LOG2;
const PORT_WINDOW_BYTES = PORT_WINDOW_SLOTS * PORT_SLOT_WORDS * 4;

function flowArgs(spec: FlowSpec): FlowArgs {
  const proto = PROTO[spec.protocol];
  if ('wildcardPort' in spec) return [proto, '', spec.wildcardPort, '', 0];
  if ('anyLocal' in spec) return [proto, '', 0, spec.remote, spec.remotePort];
  if ('echoId' in spec) return [proto, spec.local, spec.echoId, spec.remote, 0];
  return [proto, spec.local, spec.localPort, spec.remote, spec.remotePort];
}

// Capability bits from linux/capability.h: CAP_SYS_ADMIN 21, CAP_PERFMON 38, CAP_BPF 39.
function missingCapabilities(): string | null {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return null;
  }
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
  if (!m) return null;
  const eff = BigInt(`0x${m[1]}`);
  const has = (bit: number): boolean => ((eff >> BigInt(bit)) & 1n) === 1n;
  if (has(21) || (has(38) && has(39))) return null;
  const missing = [has(39) ? '' : 'CAP_BPF', has(38) ? '' : 'CAP_PERFMON'].filter(Boolean);
  return `missing ${missing.join(' and ')} (run as root or grant them, e.g. AmbientCapabilities=CAP_BPF CAP_PERFMON CAP_NET_ADMIN)`;
}

function loadNative(): NativeBpf {
  // Imported lazily so that a missing addon is one more "eBPF unavailable" reason, not a crash.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { binding } = require('./addon') as { binding: Record<string, unknown> };
  if (typeof binding.BpfTracer !== 'function') throw new BpfUnavailableError('the native addon was built without the eBPF loader');
  return binding as unknown as NativeBpf;
}

/** Drop reason names of the running kernel (from its BTF), by number. Empty without BTF. */
export function dropReasonNames(): Map<number, string> {
  const out = new Map<number, string>();
  for (const [k, v] of Object.entries(loadNative().bpfReasonNames())) out.set(Number(k), v);
  return out;
}

/** "symbol+0xoff" of a kernel text address, through /proc/kallsyms ("0x..." when unknown). */
export function kernelSymbol(addr: bigint): string {
  return loadNative().bpfKernelSymbol(addr);
}

/** netns inode of this process (as in /proc/self/ns/net). */
export function selfNetns(): number {
  return loadNative().bpfSelfNetns();
}

export function ifindexOf(ifname: string): number {
  const file = `/sys/class/net/${ifname}/ifindex`;
  if (!/^[\w.@-]{1,15}$/.test(ifname) || !existsSync(file)) throw new Error(`no interface named ${ifname}`);
  return Number(readFileSync(file, 'utf8').trim());
}

export type EventListener = (events: BpfEvent[]) => void;

export class DropTracer {
  readonly localNetns: number;
  private readonly listeners = new Set<EventListener>();
  private readonly flows = new Map<number, FlowArgs>();
  /** which flow id owns a key: a socket bound to a port whose ended probe is not removed yet takes it over */
  private readonly owners = new Map<string | number, number>();
  /**
   * the kernel's port_flows array, mapped here window by window (PORT_WINDOW_SLOTS): port flows
   * are registered without a syscall; null when the array cannot be mapped
   */
  private readonly portWindows: Array<Uint32Array | undefined> | null;
  /** port flow id -> its slot (TCP port, or PORT_FLOWS_UDP + UDP port) */
  private readonly portFlows = new Map<number, number>();
  private readonly drains: Array<{ seq: number; resolve: () => void }> = [];
  private readonly xdp = new Set<number>();
  private nextId = 1;
  private stopped = false;

  private constructor(
    private readonly native: NativeTracer | null,
    localNetns: number,
  ) {
    this.localNetns = localNetns;
    this.portWindows = native && native.portFlowsBytes() === 2 * PORT_FLOWS_UDP * PORT_SLOT_WORDS * 4 ? [] : null;
  }

  /** The mapped window holding `slot`, mapped now if it is the first use; null once stopped. */
  private portWindow(slot: number): Uint32Array | null {
    const windows = this.portWindows as Array<Uint32Array | undefined>;
    const k = slot >>> PORT_WINDOW_LOG2;
    let win = windows[k];
    if (!win) {
      const ab = this.native?.portFlows(k * PORT_WINDOW_BYTES, PORT_WINDOW_BYTES) ?? null;
      if (!ab) return null;
      win = windows[k] = new Uint32Array(ab);
    }
    return win;
  }

  /** Loads and attaches the drop tracer; throws BpfUnavailableError saying what is missing. */
  static open(opts: DropTracerOptions = {}): DropTracer {
    const caps = missingCapabilities();
    if (caps) throw new BpfUnavailableError(caps);
    let nb: NativeBpf;
    try {
      nb = loadNative();
    } catch (err) {
      if (err instanceof BpfUnavailableError) throw err;
      throw new BpfUnavailableError((err as Error).message);
    }
    const localNetns = opts.localNetns === undefined || opts.localNetns === 'self' ? nb.bpfSelfNetns() : opts.localNetns;
    const holder: { t?: DropTracer } = {};
    let native: NativeTracer;
    try {
      native = new nb.BpfTracer(
        {
          objectDir: opts.objectDir ?? path.join(PROJECT_ROOT, 'build', 'bpf'),
          reportAll: opts.reportAll ?? false,
          localNetns,
          maxFlows: opts.maxFlows ?? 65536,
          ringBytes: opts.ringBytes ?? 1 << 20,
          maxSeen: opts.maxSeen ?? 65536,
          xdpEvents: opts.xdpEvents ?? false,
          runStats: opts.runStats ?? true,
        },
        (events, drained) => holder.t?.deliver(events, drained),
      );
    } catch (err) {
      throw new BpfUnavailableError((err as Error).message);
    }
    holder.t = new DropTracer(native, localNetns);
    return holder.t;
  }

  onEvents(fn: EventListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Registers a probe flow; returns its id (> 0), or -errno (-E2BIG: flow map full). */
  addFlow(spec: FlowSpec): number {
    if (this.stopped || !this.native) return -107; // ENOTCONN
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    if (this.portWindows && 'wildcardPort' in spec && (spec.protocol === 'tcp' || spec.protocol === 'udp')) return this.portFlow(id, spec.protocol, spec.wildcardPort);
    const args = flowArgs(spec);
    const rc = this.native.addFlow(...args, id);
    if (rc < 0) return rc;
    const key = ownerKey(args);
    const previous = this.owners.get(key);
    if (previous !== undefined) this.flows.delete(previous);
    this.owners.set(key, id);
    this.flows.set(id, args);
    return id;
  }

  /**
   * addFlow({ protocol, wildcardPort }) for TCP/UDP without the spec object: the fast path registers
   * one per probe, thousands a second.
   */
  addPortFlow(protocol: 'tcp' | 'udp', port: number): number {
    if (!this.portWindows) return this.addFlow({ protocol, wildcardPort: port });
    if (this.stopped || !this.native) return -107; // ENOTCONN
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return this.portFlow(id, protocol, port);
  }

  private portFlow(id: number, protocol: 'tcp' | 'udp', port: number): number {
    const slot = (protocol === 'udp' ? PORT_FLOWS_UDP : 0) + (port & 0xffff);
    const win = this.portWindow(slot);
    if (!win) return -107; // ENOTCONN: stopped
    // A socket bound to a port whose ended probe is not removed yet takes the slot over, as a key in the hash.
    const w = (slot & (PORT_WINDOW_SLOTS - 1)) * PORT_SLOT_WORDS;
    win.fill(0, w + 1, w + PORT_SLOT_WORDS);
    win[w] = id; // last: the programs match on a non-zero flow_id
    this.portFlows.set(id, slot);
    return id;
  }

  /** The window and first word of a mapped slot (one portFlow mapped). */
  private slotWords(slot: number): [Uint32Array, number] {
    const win = (this.portWindows as Array<Uint32Array | undefined>)[slot >>> PORT_WINDOW_LOG2] as Uint32Array;
    return [win, (slot & (PORT_WINDOW_SLOTS - 1)) * PORT_SLOT_WORDS];
  }

  removeFlow(id: number): void {
    const slot = this.portFlows.get(id);
    if (slot !== undefined) {
      this.portFlows.delete(id);
      const [win, w] = this.slotWords(slot);
      if (win[w] === id) win[w] = 0;
      return;
    }
    const args = this.flows.get(id);
    if (!args) return;
    this.flows.delete(id);
    const key = ownerKey(args);
    if (this.owners.get(key) !== id) return;
    this.owners.delete(key);
    if (!this.stopped) this.native?.removeFlow(...args);
  }

  flowState(id: number): FlowState | null {
    const slot = this.portFlows.get(id);
    if (slot !== undefined && !this.stopped) {
      const [win, w] = this.slotWords(slot);
      if (win[w] !== id) return null;
      const u64 = (i: number) => win[w + i] + win[w + i + 1] * 2 ** 32;
      return { xdpPackets: u64(2), xdpLastTime: u64(4) / 1e9, drops: u64(6) };
    }
    const args = this.flows.get(id);
    if (!args || this.stopped || !this.native) return null;
    const st = this.native.flowState(...args);
    return st ? { xdpPackets: st.xdpPackets, xdpLastTime: st.xdpLastTime, drops: st.drops } : null;
  }

  /**
   * What XDP recorded of the replies of flow `id` (from addFlow): `wire` = an ICMP echo's id << 16 | seq,
   * 0 for the whole flow of any other protocol. Stays readable after removeFlow() until the LRU map
   * forgets it. null: no reply seen (or forgotten, or no XDP observer attached).
   */
  seen(id: number, wire = 0): SeenRecord | null {
    if (this.stopped || !this.native || id <= 0) return null;
    return this.native.seen(id, wire >>> 0);
  }

  get activeFlows(): number {
    return this.flows.size + this.portFlows.size;
  }

  /** Attaches the XDP observer to an interface (name or ifindex) of this network namespace. */
  attachXdp(iface: string | number): number {
    const ifindex = typeof iface === 'number' ? iface : ifindexOf(iface);
    this.native?.attachXdp(ifindex);
    this.xdp.add(ifindex);
    return ifindex;
  }

  detachXdp(iface: string | number): void {
    const ifindex = typeof iface === 'number' ? iface : ifindexOf(iface);
    this.native?.detachXdp(ifindex);
    this.xdp.delete(ifindex);
  }

  hasXdp(ifindex?: number): boolean {
    return ifindex === undefined ? this.xdp.size > 0 : this.xdp.has(ifindex);
  }

  /**
   * Resolves true once every event the kernel produced before this call has reached the listeners,
   * or false after `timeoutMs` without that (the poller is slow: its first events load the kernel's
   * symbols, a few hundred ms, seconds on a loaded machine). Callers must not read "no event" as
   * "nothing happened" after false: the classifier then says unknown, not path_loss.
   */
  drain(timeoutMs = 5000): Promise<boolean> {
    if (this.stopped || !this.native) return Promise.resolve(true);
    const seq = this.native.requestDrain();
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drains.push({ seq, resolve: () => (clearTimeout(timer), resolve(true)) });
    });
  }

  /** Program costs, ring overflows, and replies of probe flows matched at XDP (all since open). */
  stats(): { programs: ProgramStats[]; eventsLost: number; xdpMatched: number } {
    if (this.stopped || !this.native) return { programs: [], eventsLost: 0, xdpMatched: 0 };
    const s = this.native.stats();
    return {
      eventsLost: s.eventsLost,
      xdpMatched: s.xdpMatched,
      programs: s.programs.map((p) => ({ ...p, nsPerRun: p.runCnt > 0 ? p.runTimeNs / p.runCnt : 0 })),
    };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.native?.stop();
    for (const d of this.drains.splice(0)) d.resolve();
  }

  private deliver(events: BpfEvent[], drained: number): void {
    if (events.length > 0) for (const fn of this.listeners) fn(events);
    if (drained > 0) {
      for (let i = this.drains.length - 1; i >= 0; i--) {
        if (this.drains[i].seq <= drained) this.drains.splice(i, 1)[0].resolve();
      }
    }
  }
}

let reported = false;

/**
 * Opens the tracer, or returns null after calling `warn` with "eBPF unavailable: ..." (only the first
 * time in this process, so a daemon says it once at start).
 */
export function openDropTracer(opts: DropTracerOptions = {}, warn: (msg: string) => void = (m) => process.emitWarning(m)): DropTracer | null {
  try {
    return DropTracer.open(opts);
  } catch (err) {
    const msg = err instanceof BpfUnavailableError ? err.message : `eBPF unavailable: ${(err as Error).message}`;
    if (!reported) {
      reported = true;
      warn(msg);
    }
    return null;
  }
}
