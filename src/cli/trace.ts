// `sonde trace TARGET`: a Paris traceroute with mtr's habits (-r, -c, -i, -u, -T, -P, -n, --json) and
// its report view (trace_report.ts), refreshed while it runs on a terminal. Its rounds are paced
// under the hops' ICMP rate limits and stop at the target (probers/trace/run.ts), so the loss it
// shows is the path's. With --explain every probe that got no answer gets an eBPF verdict (issue 4).
// Exit 0 when the target was reached, 1 otherwise, 2 on usage errors; Ctrl-C prints the report so far.
import { TraceSocketError, type TraceProto } from '../native/trace';
import { Runtime } from '../runtime';
import { resolveTarget } from '../probers/resolve';
import { explainTrace, watchTrace, type TraceWatch } from '../attribution/trace_flows';
import { traceHopJSON } from '../probers/trace/json';
import { KERNEL_RATELIMIT_MS } from '../probers/trace/pacer';
import { TraceRun, DEFAULT_PORTS, type LostTraceProbe, type TraceOptions } from '../probers/trace/run';
import type { Attribution, TraceFacts } from '../result';
import { intFlag, parseArgs, secondsFlag, UsageError } from './args';
import { openExplainer, type Explainer } from './explain';
import { errorLine, writeAll } from './output';
import { Progress } from './progress';
import { notAHost } from './targets';
import { formatTraceReport } from './trace_report';

export { formatTraceReport };

const USAGE = `usage: sonde trace [FLAGS] TARGET
mtr's flags, with mtr's meanings:
  -r, --report        print the report once the rounds are done (on a terminal the table is otherwise
                      redrawn every second while it runs)
  -c, --rounds N      probes per TTL (and flow), mtr's cycles (default 10)
  -i, --interval S    seconds between rounds (default 1, mtr's). Rounds also wait for the hops' ICMP
                      rate limit (see --hop-ratelimit), so a smaller -i speeds up only the first ones
  -u                  UDP probes (to port 33434 by default), as --proto udp
  -T                  TCP SYN probes (to port 80 by default), as --proto tcp
  -P, --port N        UDP/TCP destination port
  -f, --first-ttl N   first TTL probed (default 1)
  -m, --max-ttl N     last TTL probed (default 30); no TTL past the target is probed once it answered
  -n, --no-dns        accepted for mtr's sake: sonde never looks up the names of hops
  -j, --json          print one object: target, address, reached, hops[] (with --explain, hops[].attribution)
  -4, -6              resolve TARGET to IPv4 (default) or IPv6
sonde's own:
  --proto P           icmp (echo, default), udp or tcp
  --flows N           Paris flows per round: 1 follows one ECMP path, more show parallel next hops (default 1)
  --timeout S         seconds each probe waits for its answer (default 1)
  --hop-ratelimit MS  the hops' ICMP error rate limit the rounds are paced under: one answer per MS after
                      a burst (net.ipv4.icmp_ratelimit, default ${KERNEL_RATELIMIT_MS}, the kernel's); 0 when the
                      hops' limits are lifted. A hop that loses more than a later one is marked
                      "rate-limited: loss does not continue"
  --explain           load the eBPF drop tracer: each lost probe gets a verdict (local_drop with the kernel's
                      reason and location, or path_loss); needs CAP_BPF and CAP_PERFMON
  --xdp-interface IFACE
                      with --explain, also watch echo replies arriving on IFACE (XDP)
exit status: 0 the target answered, 1 it did not, 2 usage error`;

const SPEC = {
  proto: { value: true },
  udp: { value: false, aliases: ['-u'] },
  tcp: { value: false, aliases: ['-T'] },
  port: { value: true, aliases: ['-P'] },
  rounds: { value: true, aliases: ['-c', '--report-cycles'] },
  'first-ttl': { value: true, aliases: ['-f'] },
  'max-ttl': { value: true, aliases: ['-m'] },
  flows: { value: true },
  interval: { value: true, aliases: ['-i'] },
  timeout: { value: true },
  'hop-ratelimit': { value: true },
  report: { value: false, aliases: ['-r'] },
  'no-dns': { value: false, aliases: ['-n'] },
  json: { value: false, aliases: ['-j'] },
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
  report: boolean;
  explain: boolean;
  xdpInterface?: string;
  options: Omit<TraceOptions, 'signal' | 'deadline' | 'flowBase' | 'onLost'>;
}

export function parseTraceArgs(argv: string[]): TraceArgs {
  const { flags, positional } = parseArgs(argv, SPEC);
  if (flags.help) throw new UsageError('help');
  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? 'no target given' : 'exactly one target expected');
  const picked = [flags.proto !== undefined && `--proto`, flags.udp && '-u', flags.tcp && '-T'].filter(Boolean);
  if (picked.length > 1) throw new UsageError(`${picked.join(' and ')} exclude each other`);
  const proto = flags.udp ? 'udp' : flags.tcp ? 'tcp' : ((flags.proto ?? 'icmp') as string);
  if (proto !== 'icmp' && proto !== 'udp' && proto !== 'tcp') throw new UsageError(`--proto: got ${JSON.stringify(proto)}, expected icmp, udp or tcp`);
  if (flags.ipv4 && flags.ipv6) throw new UsageError('-4 and -6 exclude each other');
  const firstTtl = intFlag(flags['first-ttl'], '--first-ttl', 1, 1, 255);
  const maxTtl = intFlag(flags['max-ttl'], '--max-ttl', 30, 1, 255);
  if (maxTtl < firstTtl) throw new UsageError(`--max-ttl: got ${maxTtl}, expected at least --first-ttl (${firstTtl})`);
  const xdp = flags['xdp-interface'] as string | undefined;
  if (xdp !== undefined && !/^[\w.@-]{1,15}$/.test(xdp)) throw new UsageError(`--xdp-interface: got ${JSON.stringify(xdp)}, expected an interface name`);
  if (xdp !== undefined && flags.explain !== true) throw new UsageError('--xdp-interface needs --explain');
  const interval = secondsFlag(flags.interval, '--interval', 1);
  const timeout = secondsFlag(flags.timeout, '--timeout', 1);
  if (interval > 3600) throw new UsageError(`--interval: got ${interval}, expected at most 3600 seconds`);
  if (timeout > 60) throw new UsageError(`--timeout: got ${timeout}, expected at most 60 seconds`);
  return {
    target: positional[0],
    family: flags.ipv6 ? 6 : 4,
    json: flags.json === true,
    report: flags.report === true,
    explain: flags.explain === true,
    xdpInterface: xdp,
    options: {
      proto: proto as TraceProto,
      port: intFlag(flags.port, '--port', 0, 1, 65535),
      firstTtl,
      maxTtl,
      rounds: intFlag(flags.rounds, '--rounds', 10, 1, 100_000),
      flows: intFlag(flags.flows, '--flows', 1, 1, 64),
      interval,
      timeout,
      hopRateLimitMs: intFlag(flags['hop-ratelimit'], '--hop-ratelimit', KERNEL_RATELIMIT_MS, 0, 60_000),
    },
  };
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
  const bad = notAHost(args.target);
  if (bad) {
    process.stderr.write(`sonde trace: ${bad}\n`);
    return 1;
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
  const out = process.stdout;
  const started = new Date();
  const ctl = new AbortController();
  const stop = (): void => ctl.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const runtime = new Runtime();
  let facts: TraceFacts;
  let attribution: Map<number, Attribution[]> | undefined;
  let refresh: NodeJS.Timeout | undefined;
  let progress: Progress | undefined;
  try {
    const run = new TraceRun(runtime.trace(), address, { ...args.options, signal: ctl.signal, onLost: watch ? (p) => lost.push(p) : undefined });
    const live = !args.json && !args.report && out.isTTY === true;
    const rounds = (): string => `${Math.max(0, ...run.facts().hops.map((h) => h.sent))}/${args.options.rounds}`;
    if (live) {
      // mtr's live view: the table redrawn in place; the final report follows it.
      const draw = (): void => void out.write(`\x1b[H\x1b[2Jsonde trace ${args.target}: round ${rounds()} (Ctrl-C stops)\n${formatTraceReport(args.target, address, run.facts(), undefined, { started })}`);
      draw();
      refresh = setInterval(draw, 1000);
    } else if (process.stderr.isTTY) {
      progress = new Progress(process.stderr, () => `sonde trace ${args.target}: round ${rounds()}`);
    }
    facts = await run.run();
    if (explainer && watch) attribution = await explainTrace(explainer.flows, watch, lost, args.options.timeout);
  } catch (err) {
    if (err instanceof TraceSocketError) {
      process.stderr.write(`sonde trace: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`sonde trace: ${errorLine(err)}\n`);
    return 1;
  } finally {
    if (refresh) clearInterval(refresh);
    progress?.stop();
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    runtime.close();
    if (explainer && watch) explainer.flows.remove(watch.id);
    explainer?.close();
  }
  if (args.json) {
    const json = {
      target: args.target,
      address,
      proto: facts.proto,
      reached: facts.reached,
      flows: facts.flows,
      multipath: facts.hops.some((h) => h.multipath),
      pathHash: facts.pathHash,
      hops: facts.hops.map((h) => ({ ...traceHopJSON(h), ...(attribution ? { attribution: attribution.get(h.ttl) ?? [] } : {}) })),
    };
    await writeAll(out, `${JSON.stringify(json, null, 2)}\n`);
  } else {
    if (refresh) out.write('\x1b[H\x1b[2J');
    await writeAll(out, formatTraceReport(args.target, address, facts, attribution, { started }));
  }
  return facts.reached ? 0 : 1;
}
