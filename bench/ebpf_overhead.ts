// Scenario ebpf_overhead (issue 4): what the eBPF drop tracer and XDP observer cost the probes.
// ICMP echo throughput of the native engine and TCP connect throughput of the native stream engine
// (connect-only probes, RST close) against a lab target namespace over veth, each measured with the
// programs detached (no tracer loaded) and attached, interleaved A/B/A/B (detached, attached, ...)
// over at least 3 runs each; the overhead is the ratio of the medians. Like for like (issue 11): the
// two sides run the same code with the same source-port policy (explicit ports from one counter
// that runs on across phases, flows registered and removed the same way: to a registry without a
// tracer when detached), so they differ only in whether the programs are attached; one unmeasured
// TCP phase warms both up first. (A target resetting its side, to spare reused ports its
// TIME_WAIT, made some connects fail with the RST.) Plus each program's own cost per run (run_time_ns /
// run_cnt from kernel.bpf_stats_enabled) over the attached runs.
// "SYN probes" here are kernel connect()s; syn_rate measures the SYN scanner.
import { performance } from 'node:perf_hooks';
import { BpfFlowRegistry } from '../src/attribution/registry';
import { DropTracer, type ProgramStats } from '../src/native/bpf';
import { IcmpEngine } from '../src/native/icmp';
import { StreamPool } from '../src/native/stream';
import { Lab } from '../test/lab/netns';
import { Results } from './lib/figures';
import type { Tick } from './lib/progress';

const pool = new StreamPool();

export interface EbpfOverheadOptions {
  runs: number;
  /** echoes per ICMP run, all sent at once */
  icmpProbes: number;
  /** seconds per TCP run */
  tcpSeconds: number;
  /** TCP connects in flight */
  concurrency: number;
  /** XDP also sends a ring event per reply (the cost before the seen map; BENCH_XDP_EVENTS=1) */
  xdpEvents?: boolean;
  progress?: Tick;
}

const HOST = '198.19.230.1';
const TARGET = '198.19.230.2';
const TCP_PORT = 80;
// Source ports the bench picks for its connects (below the kernel's ephemeral range, 32768-60999), so
// each probe's flow is registered before its SYN leaves, as the probers do.
const PORT_LOW = 20000;
const PORT_SPAN = 12000;

const LISTENER = `
const net = require('node:net');
net.createServer((s) => { s.on('error', () => {}); s.destroy(); }).listen({ host: '${TARGET}', port: ${TCP_PORT}, backlog: 4096 }, () => console.log('ready'));
setTimeout(() => process.exit(0), 1800000).unref();
`;

async function buildLab(): Promise<{ lab: Lab; iface: string }> {
  const lab = new Lab('sdbov');
  lab.addNs('t');
  lab.link({ ns: null, ifname: 'sdbovh', addrs: [`${HOST}/24`] }, { ns: 't', ifname: 'sdbovt', addrs: [`${TARGET}/24`] });
  const child = lab.spawn('t', [process.execPath, '-e', LISTENER]);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench listener did not start in 10 s')), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { lab, iface: 'sdbovh' };
}

// Echoes in flight at once: a veth with an XDP program receives through a NAPI ring of 256 packets
// (drivers/net/veth.c VETH_RING_SIZE) and drops the rest of a larger burst before XDP sees it. One
// pipe: with several echo() groups in flight at once the engine (being reworked) lost outcomes.
const ICMP_PIPES = 1;
const ICMP_CHUNK = 200;

function echoChunk(engine: IcmpEngine, n: number): Promise<number> {
  let replies = 0;
  return new Promise((resolve) =>
    engine.echo(new Array<string>(n).fill(TARGET), { timeoutMs: 1000 }, (_i, o) => (replies += o.kind === 'reply' ? 1 : 0), () => resolve(replies)),
  );
}

/** Echoes per second with ICMP_PIPES x ICMP_CHUNK in flight; also returns how many got no reply. */
async function icmpRun(engine: IcmpEngine, n: number, flows: BpfFlowRegistry): Promise<{ rate: number; lost: number }> {
  const id = flows.addEchoFlow({ family: 4, remote: TARGET });
  let sent = 0;
  let replies = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: ICMP_PIPES }, async () => {
      while (sent < n) {
        const k = Math.min(ICMP_CHUNK, n - sent);
        sent += k;
        replies += await echoChunk(engine, k);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  flows.remove(id);
  return { rate: replies / seconds, lost: n - replies };
}

// The next source port, over every phase of both sides (one policy: the same sequence of ports).
let nextPort = 0;

/** Connect probes per second at a fixed concurrency for `seconds`; `flows` has no tracer when detached. */
async function tcpRun(seconds: number, concurrency: number, flows: BpfFlowRegistry): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const port = PORT_LOW + (nextPort++ % PORT_SPAN);
        const id = flows.add({ protocol: 'tcp', local: HOST, localPort: port, remote: TARGET, remotePort: TCP_PORT });
        const r = await pool.probe({ address: TARGET, port: TCP_PORT, timeoutMs: 2000, sourceAddress: HOST, sourcePort: port });
        flows.remove(id);
        if (r.errno === 0) ok++;
        else failed++;
      }
    }),
  );
  if (failed > ok * 0.01) throw new Error(`TCP run: ${failed} of ${ok + failed} connects failed: the figure would be wrong`);
  return ok / ((performance.now() - t0) / 1000);
}

/** ns per run of each program over one attached phase (deltas of the kernel's counters). */
function nsPerRun(before: ProgramStats[], after: ProgramStats[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of after) {
    const b = before.find((q) => q.id === p.id) ?? { runCnt: 0, runTimeNs: 0 };
    if (p.runCnt > b.runCnt) out.set(p.name, (p.runTimeNs - b.runTimeNs) / (p.runCnt - b.runCnt));
  }
  return out;
}

async function attached<T>(iface: string, fn: (flows: BpfFlowRegistry) => Promise<T>, costs: Map<string, number[]>, xdpEvents: boolean): Promise<T> {
  const tracer = DropTracer.open({ localNetns: 'self', xdpEvents });
  try {
    tracer.attachXdp(iface);
    const flows = new BpfFlowRegistry(tracer);
    const s0 = tracer.stats().programs;
    const v = await fn(flows);
    await tracer.drain();
    for (const [name, ns] of nsPerRun(s0, tracer.stats().programs)) costs.set(name, [...(costs.get(name) ?? []), ns]);
    return v;
  } finally {
    tracer.stop();
  }
}

export async function ebpfOverhead(opts: EbpfOverheadOptions): Promise<Results> {
  const tick = opts.progress ?? (() => undefined);
  const { lab, iface } = await buildLab();
  const engine = new IcmpEngine({ capacityLog2: 17 });
  const icmp = { off: [] as number[], on: [] as number[] };
  let icmpLost = 0;
  const tcp = { off: [] as number[], on: [] as number[] };
  const icmpCosts = new Map<string, number[]>();
  const tcpCosts = new Map<string, number[]>();
  // Detached: the same registry calls, to a registry without a tracer (add() returns 0, remove() nothing).
  const detached = new BpfFlowRegistry(null);
  const xdp = opts.xdpEvents ?? false;
  try {
    await icmpRun(engine, 1000, detached); // warm-up: sockets, pages of the probe table
    await tcpRun(Math.min(1, opts.tcpSeconds), opts.concurrency, detached); // warm-up: the pool's engines, the target's accept path
    for (let r = 0; r < opts.runs; r++) {
      tick(`run ${r + 1}/${opts.runs}: ICMP detached, attached`, r / opts.runs);
      const off = await icmpRun(engine, opts.icmpProbes, detached);
      const on = await attached(iface, (flows) => icmpRun(engine, opts.icmpProbes, flows), icmpCosts, xdp);
      icmp.off.push(off.rate);
      icmp.on.push(on.rate);
      icmpLost += off.lost + on.lost;
      tick(`run ${r + 1}/${opts.runs}: TCP detached, attached`, (r + 0.5) / opts.runs);
      tcp.off.push(await tcpRun(opts.tcpSeconds, opts.concurrency, detached));
      tcp.on.push(await attached(iface, (flows) => tcpRun(opts.tcpSeconds, opts.concurrency, flows), tcpCosts, xdp));
    }
  } finally {
    engine.close();
    pool.close();
    lab.close();
  }
  const out = new Results();
  out.fig({ name: 'ICMP echoes/s, eBPF attached, flows registered', unit: 'echoes/s', runs: icmp.on, peer: { name: 'detached', runs: icmp.off } });
  out.line(`ICMP: ${icmpLost} echoes unanswered over all runs; XDP ${xdp ? 'ring event per reply' : 'seen map, no event per reply'}; the ratio above is the overhead (1.00: none)`);
  out.fig({ name: 'TCP connects/s, eBPF attached, flows registered', unit: 'connects/s', runs: tcp.on, peer: { name: 'detached', runs: tcp.off } });
  out.line('TCP: kernel connect(), the same explicit source ports and registry calls on both sides; the ratio above is the overhead (1.00: none)');
  for (const [load, costs] of [['ICMP', icmpCosts], ['TCP', tcpCosts]] as const) {
    for (const [name, runs] of costs) out.fig({ name: `${name} under the ${load} load`, unit: 'ns/run', runs });
  }
  out.curve('eBPF A/B: throughput per run (interleaved detached, attached)', 'run', 'probes/s', {
    'ICMP detached': icmp.off.map((v, i) => [i + 1, v]),
    'ICMP attached': icmp.on.map((v, i) => [i + 1, v]),
    'TCP detached': tcp.off.map((v, i) => [i + 1, v]),
    'TCP attached': tcp.on.map((v, i) => [i + 1, v]),
  });
  return out;
}
