// `sonde trace TARGET [--proto icmp|udp|tcp] [--rounds N] [--max-ttl N] [--explain] [--json] ...`: a
// Paris traceroute printed like `mtr --report` (per TTL: addresses, loss, sent, received, RTT stats).
// With --explain every probe that got no answer gets an eBPF verdict (issue 4): lost on the probe
// host (kernel drop reason, direction, location) or out on the path.
// Exit 0 when the target was reached, 1 otherwise, 2 on usage errors.
import { TraceSocketError, type TraceProto } from '../native/trace';
import { Runtime } from '../runtime';
import { resolveTarget } from '../probers/resolve';
import { explainTrace, summarizeAttribution, watchTrace, type TraceWatch } from '../attribution/trace_flows';
import { traceHopJSON } from '../probers/trace/json';
import { runTrace, DEFAULT_PORTS, type LostTraceProbe, type TraceOptions } from '../probers/trace/run';
import type { Attribution, TraceFacts } from '../result';
import { intFlag, parseArgs, secondsFlag, UsageError } from './args';
import { openExplainer, type Explainer } from './explain';

const USAGE = `usage: sonde trace TARGET [--proto icmp|udp|tcp] [--rounds N] [--max-ttl N] [--explain [--xdp-interface IFACE]] [--json]
  --proto P       probe packets: icmp (echo, default), udp (to port 33434), tcp (SYN to port 80)
  --port N        UDP/TCP destination port
  --rounds N      probes per TTL (and flow), like mtr's cycles (default 10)
  --first-ttl N   first TTL probed (default 1)
  --max-ttl N     last TTL probed (default 30)
  --flows N       Paris flows per round: 1 follows one ECMP path, more show parallel next hops (default 1)
  --interval S    seconds between rounds (default 0.25)
  --timeout S     seconds each probe waits for its answer (default 1)
  -4, -6          resolve TARGET to IPv4 (default) or IPv6
  --explain       load the eBPF drop tracer: each lost probe gets a verdict (local_drop with the kernel's
                  reason and location, or path_loss); needs CAP_BPF and CAP_PERFMON
  --xdp-interface IFACE
                  with --explain, also watch echo replies arriving on IFACE (XDP)
  --json          print one object: target, address, reached, hops[] (with --explain, hops[].attribution)`;

const SPEC = {
  proto: { value: true },
  port: { value: true },
  rounds: { value: true },
  'first-ttl': { value: true },
  'max-ttl': { value: true },
  flows: { value: true },
  interval: { value: true },
  timeout: { value: true },
  json: { value: false },
  explain: { value: false },
  'xdp-interface': { value: true },
  ipv4: { value: false, aliases: ['-4'] },
  ipv6: { value: false, aliases: ['-6'] },
  help: { value: false, aliases: ['-h'] },
};

export interface TraceArgs {
  target: string;
  family: 4 | 6;
  json: boolean;
  explain: boolean;
  xdpInterface?: string;
  options: Omit<TraceOptions, 'signal' | 'deadline' | 'flowBase' | 'onLost'>;
}

export function parseTraceArgs(argv: string[]): TraceArgs {
  const { flags, positional } = parseArgs(argv, SPEC);
  if (flags.help) throw new UsageError('help');
  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? 'no target given' : 'exactly one target expected');
  const proto = (flags.proto ?? 'icmp') as string;
  if (proto !== 'icmp' && proto !== 'udp' && proto !== 'tcp') throw new UsageError(`--proto: got ${JSON.stringify(proto)}, expected icmp, udp or tcp`);
  if (flags.ipv4 && flags.ipv6) throw new UsageError('-4 and -6 exclude each other');
  const firstTtl = intFlag(flags['first-ttl'], '--first-ttl', 1, 1, 255);
  const maxTtl = intFlag(flags['max-ttl'], '--max-ttl', 30, 1, 255);
  if (maxTtl < firstTtl) throw new UsageError(`--max-ttl: got ${maxTtl}, expected at least --first-ttl (${firstTtl})`);
  const xdp = flags['xdp-interface'] as string | undefined;
  if (xdp !== undefined && !/^[\w.@-]{1,15}$/.test(xdp)) throw new UsageError(`--xdp-interface: got ${JSON.stringify(xdp)}, expected an interface name`);
  if (xdp !== undefined && flags.explain !== true) throw new UsageError('--xdp-interface needs --explain');
  return {
    target: positional[0],
    family: flags.ipv6 ? 6 : 4,
    json: flags.json === true,
    explain: flags.explain === true,
    xdpInterface: xdp,
    options: {
      proto: proto as TraceProto,
      port: intFlag(flags.port, '--port', 0, 1, 65535),
      firstTtl,
      maxTtl,
      rounds: intFlag(flags.rounds, '--rounds', 10, 1, 1000),
      flows: intFlag(flags.flows, '--flows', 1, 1, 64),
      interval: secondsFlag(flags.interval, '--interval', 0.25),
      timeout: secondsFlag(flags.timeout, '--timeout', 1),
    },
  };
}

const ms = (s: number | undefined) => (s === undefined ? '' : (s * 1000).toFixed(2));

/** mtr --report's table: one line per TTL, further addresses of a multipath hop on their own lines. */
export function formatTraceReport(target: string, address: string, t: TraceFacts, attribution?: ReadonlyMap<number, Attribution[]>): string {
  const width = Math.max(20, ...t.hops.flatMap((h) => h.addresses.map((a) => a.length + 2)));
  const cols = ['Loss%', 'Snt', 'Rcv', 'Min', 'Median', 'Avg', 'Max', 'StDev'];
  const sizes = [6, 5, 5, 8, 8, 8, 8, 8];
  const row = (vals: string[]) => vals.map((v, i) => v.padStart(sizes[i])).join('');
  let out = `TRACE ${target} (${address}) ${t.proto}, ${t.flows} flow${t.flows > 1 ? 's' : ''}; rtt in ms\n`;
  out += `${' '.repeat(7)}${'Host'.padEnd(width)}${row(cols)}\n`;
  for (const h of t.hops) {
    const [first, ...more] = h.addresses;
    const r = h.rtt;
    out += `${String(h.ttl).padStart(3)}.|-- ${(first ?? '???').padEnd(width)}`;
    out += row([`${(h.loss * 100).toFixed(1)}%`, String(h.sent), String(h.received), ms(r?.min), ms(r?.median), ms(r?.mean), ms(r?.max), ms(r?.stddev)]);
    out += h.multipath ? `  multipath: ${h.addresses.length} next hops\n` : '\n';
    for (const a of more) out += `${' '.repeat(9)}${a}\n`;
    const lost = attribution?.get(h.ttl);
    if (lost && lost.length > 0) out += `${' '.repeat(9)}lost: ${summarizeAttribution(lost)}\n`;
  }
  out += t.reached ? `reached ${address} in ${t.hops[t.hops.length - 1]?.ttl ?? 0} hops\n` : `did not reach ${address} (max TTL ${t.hops[t.hops.length - 1]?.ttl ?? 0} shown)\n`;
  return out;
}

export async function traceCommand(argv: string[]): Promise<number> {
  let args: TraceArgs;
  try {
    args = parseTraceArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message === 'help') {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      }
      process.stderr.write(`sonde trace: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  let address: string;
  try {
    address = (await resolveTarget(args.target, args.family === 6 ? 'ip6' : 'ip4', true, new AbortController())).addresses[0];
  } catch (err) {
    process.stderr.write(`sonde trace: ${args.target}: ${(err as Error).message}\n`);
    return 1;
  }
  let explainer: Explainer | undefined;
  let watch: TraceWatch | undefined;
  const lost: LostTraceProbe[] = [];
  const port = args.options.port || DEFAULT_PORTS[args.options.proto];
  if (args.explain) {
    // Registered before the first probe leaves, so even a probe dropped on its way out is seen.
    explainer = await openExplainer({ xdpInterface: args.xdpInterface, registry: { maxEventsPerFlow: 1 << 16 } });
    watch = watchTrace(explainer.flows, args.family, address, args.options.proto, port);
  }
  const runtime = new Runtime();
  let facts: TraceFacts;
  let attribution: Map<number, Attribution[]> | undefined;
  try {
    facts = await runTrace(runtime.trace(), address, { ...args.options, onLost: watch ? (p) => lost.push(p) : undefined });
    if (explainer && watch) attribution = await explainTrace(explainer.flows, watch, lost, args.options.timeout);
  } catch (err) {
    if (err instanceof TraceSocketError) {
      process.stderr.write(`sonde trace: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    runtime.close();
    if (explainer && watch) explainer.flows.remove(watch.id);
    explainer?.close();
  }
  if (args.json) {
    const out = {
      target: args.target,
      address,
      proto: facts.proto,
      reached: facts.reached,
      flows: facts.flows,
      multipath: facts.hops.some((h) => h.multipath),
      pathHash: facts.pathHash,
      hops: facts.hops.map((h) => ({ ...traceHopJSON(h), ...(attribution ? { attribution: attribution.get(h.ttl) ?? [] } : {}) })),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(formatTraceReport(args.target, address, facts, attribution));
  }
  return facts.reached ? 0 : 1;
}
