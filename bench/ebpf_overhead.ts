// Scenario ebpf_overhead (issue 4): what the eBPF drop tracer and XDP observer cost the probes.
// ICMP echo throughput of the native engine and TCP connect throughput of the native stream engine
// (connect-only probes, RST close) against a lab target namespace over veth, each measured with the
// programs detached (no tracer loaded) and attached with every probe's flow registered, alternately
// within each run; the overhead is the ratio of the medians. Plus each program's own cost per run
// (run_time_ns / run_cnt from kernel.bpf_stats_enabled) over the attached runs.
// A SYN-scanning engine does not exist yet: "SYN probes" here are kernel connect()s.
import { performance } from 'node:perf_hooks';
import { BpfFlowRegistry } from '../src/attribution/registry';
import { DropTracer, type ProgramStats } from '../src/native/bpf';
import { IcmpEngine } from '../src/native/icmp';
import { StreamPool } from '../src/native/stream';
import { Lab } from '../test/lab/netns';
import { median, report } from './lib/stats';

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
async function icmpRun(engine: IcmpEngine, n: number, flows?: BpfFlowRegistry): Promise<{ rate: number; lost: number }> {
  const id = flows?.addEchoFlow({ family: 4, remote: TARGET }) ?? 0;
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
  if (id > 0) flows!.remove(id);
  return { rate: replies / seconds, lost: n - replies };
}

/** Connect probes per second at a fixed concurrency for `seconds`. */
async function tcpRun(seconds: number, concurrency: number, flows?: BpfFlowRegistry): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let next = 0;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const port = PORT_LOW + (next++ % PORT_SPAN);
        const id = flows?.add({ protocol: 'tcp', local: HOST, localPort: port, remote: TARGET, remotePort: TCP_PORT }) ?? 0;
        const r = await pool.probe({ address: TARGET, port: TCP_PORT, timeoutMs: 2000, sourceAddress: HOST, sourcePort: port });
        if (id > 0) flows!.remove(id);
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

export async function ebpfOverhead(opts: EbpfOverheadOptions): Promise<string[]> {
  const { lab, iface } = await buildLab();
  const engine = new IcmpEngine({ capacityLog2: 17 });
  const icmp = { off: [] as number[], on: [] as number[] };
  let icmpLost = 0;
  const tcp = { off: [] as number[], on: [] as number[] };
  const icmpCosts = new Map<string, number[]>();
  const tcpCosts = new Map<string, number[]>();
  try {
    await icmpRun(engine, 1000); // warm-up: sockets, pages of the probe table
    for (let r = 0; r < opts.runs; r++) {
      const off = await icmpRun(engine, opts.icmpProbes);
      const on = await attached(iface, (flows) => icmpRun(engine, opts.icmpProbes, flows), icmpCosts, opts.xdpEvents ?? false);
      icmp.off.push(off.rate);
      icmp.on.push(on.rate);
      icmpLost += off.lost + on.lost;
      tcp.off.push(await tcpRun(opts.tcpSeconds, opts.concurrency));
      tcp.on.push(await attached(iface, (flows) => tcpRun(opts.tcpSeconds, opts.concurrency, flows), tcpCosts, opts.xdpEvents ?? false));
    }
  } finally {
    engine.close();
    pool.close();
    lab.close();
  }
  const lines = [
    report({ name: 'ICMP echoes/s, eBPF attached, flows registered', unit: 'echoes/s', runs: icmp.on, peer: { name: 'detached', runs: icmp.off } }),
    `ICMP overhead: throughput ratio attached/detached ${(median(icmp.on) / median(icmp.off)).toFixed(3)} (${icmpLost} echoes unanswered over all runs; XDP ${opts.xdpEvents ? 'ring event per reply' : 'seen map, no event per reply'})`,
    report({ name: 'TCP connects/s, eBPF attached, flows registered', unit: 'connects/s', runs: tcp.on, peer: { name: 'detached', runs: tcp.off } }),
    `TCP overhead: throughput ratio attached/detached ${(median(tcp.on) / median(tcp.off)).toFixed(3)} (kernel connect(); a SYN scanner does not exist yet)`,
  ];
  for (const [load, costs] of [['ICMP', icmpCosts], ['TCP', tcpCosts]] as const) {
    for (const [name, runs] of costs) lines.push(report({ name: `${name} under the ${load} load`, unit: 'ns/run', runs }));
  }
  return lines;
}
