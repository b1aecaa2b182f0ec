// `sonde ping TARGET... [-c N] [-i INTERVAL] [-t TIMEOUT] [-s SIZE] [--ttl N] [--explain] [--json]`: one
// round of echoes to many targets at once through the native engine, printed like `fping -c`; with
// --explain, every lost echo says where it was lost (eBPF attribution, issue 4).
// Exit 0 when every target answered at least once, 1 otherwise, 2 on usage errors.
import { IcmpSocketError } from '../native/icmp';
import { Runtime } from '../runtime';
import { resolveTarget } from '../probers/resolve';
import { echoRounds, rttStats, type RoundResult } from '../probers/icmp/round';
import type { Attribution } from '../result';
import { openExplainer, type Explainer } from './explain';

const USAGE = `usage: sonde ping TARGET... [-c COUNT] [-i INTERVAL] [-t TIMEOUT] [-s SIZE] [--ttl N] [--explain [--xdp-interface IFACE]] [--json]
  -c COUNT     echoes per target (default 3)
  -i INTERVAL  time between echoes to one target: seconds, or with a unit (200ms, 1s); default 1s
  -t TIMEOUT   how long each echo waits for its reply (default 1s)
  -s SIZE      payload bytes (default 56, at least 12)
  --ttl N      IP TTL / hop limit of the requests
  --explain    load the eBPF drop tracer: each lost echo gets a verdict (local_drop with the kernel's
               reason and location, path_loss, or unknown)
  --xdp-interface IFACE
               with --explain, also watch replies arriving on IFACE (XDP), to tell "reached the NIC"
  --json       print an array with one object per target`;

class UsageError extends Error {}

interface PingArgs {
  targets: string[];
  count: number;
  interval: number;
  timeout: number;
  size: number;
  ttl?: number;
  json: boolean;
  explain: boolean;
  xdpInterface?: string;
}

function duration(flag: string, text: string | undefined): number {
  const m = text === undefined ? null : /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!m) throw new UsageError(`${flag} needs a duration such as 0.5, 200ms or 1s`);
  const v = Number(m[1]) * (m[2] === 'ms' ? 0.001 : 1);
  if (v <= 0 || v > 3600) throw new UsageError(`${flag} must be between 0 and 3600 seconds`);
  return v;
}

function integer(flag: string, text: string | undefined, min: number, max: number): number {
  if (text === undefined || !/^\d+$/.test(text)) throw new UsageError(`${flag} needs an integer`);
  const v = Number(text);
  if (v < min || v > max) throw new UsageError(`${flag} must be between ${min} and ${max}`);
  return v;
}

export function parsePingArgs(argv: readonly string[]): PingArgs {
  const a: PingArgs = { targets: [], count: 3, interval: 1, timeout: 1, size: 56, json: false, explain: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '-c':
        a.count = integer('-c', argv[++i], 1, 1_000_000);
        break;
      case '-i':
        a.interval = duration('-i', argv[++i]);
        break;
      case '-t':
        a.timeout = duration('-t', argv[++i]);
        break;
      case '-s':
        a.size = integer('-s', argv[++i], 0, 8192);
        break;
      case '--ttl':
        a.ttl = integer('--ttl', argv[++i], 1, 255);
        break;
      case '--json':
        a.json = true;
        break;
      case '--explain':
        a.explain = true;
        break;
      case '--xdp-interface':
        a.xdpInterface = argv[++i];
        if (!a.xdpInterface || !/^[\w.@-]{1,15}$/.test(a.xdpInterface)) throw new UsageError('--xdp-interface needs an interface name');
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
        a.targets.push(arg);
    }
  }
  if (a.targets.length === 0) throw new UsageError('no target given');
  if (a.xdpInterface && !a.explain) throw new UsageError('--xdp-interface needs --explain');
  return a;
}

const ms = (s: number) => (s * 1000).toFixed(3);

function summaryLine(name: string, r: RoundResult): string {
  const loss = r.sent ? Math.round((1 - r.received / r.sent) * 100) : 100;
  const st = rttStats(r.rtts);
  const dup = r.duplicates ? `, ${r.duplicates} duplicates` : '';
  const rtt = st ? `, min/avg/max = ${ms(st.min)}/${ms(st.mean)}/${ms(st.max)}` : '';
  return `${name} : xmt/rcv/%loss = ${r.sent}/${r.received}/${loss}%${dup}${rtt}`;
}

/** "local_drop NETFILTER_DROP ingress at nft_do_chain+0x2f5 (reply reached the NIC)" */
export function describeLoss(a: Attribution): string {
  let s = a.verdict;
  if (a.reason) s += ` ${a.reason}`;
  if (a.direction) s += ` ${a.direction}`;
  if (a.location) s += ` at ${a.location}`;
  if (a.replyAtNic !== undefined) s += a.replyAtNic ? ' (reply reached the NIC)' : ' (no reply reached the NIC)';
  return s;
}

export async function pingCommand(argv: string[]): Promise<number> {
  let args: PingArgs;
  try {
    args = parsePingArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sonde ping: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  const ctl = new AbortController();
  const addresses: Array<string | undefined> = await Promise.all(
    args.targets.map(async (t) => {
      try {
        return (await resolveTarget(t, 'ip4', true, ctl)).addresses[0];
      } catch (err) {
        process.stderr.write(`${t}: ${(err as Error).message}\n`);
        return undefined;
      }
    }),
  );
  const runtime = new Runtime();
  let engine;
  try {
    engine = runtime.icmp();
  } catch (err) {
    if (err instanceof IcmpSocketError) {
      process.stderr.write(`sonde ping: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const live = addresses.flatMap((a, i) => (a === undefined ? [] : [{ i, a }]));
  const explainer: Explainer | undefined = args.explain ? await openExplainer({ xdpInterface: args.xdpInterface }) : undefined;
  let rounds: RoundResult[];
  try {
    rounds = await echoRounds(
      engine,
      live.map((x) => x.a),
      { pings: args.count, interval: args.interval, timeout: args.timeout, payloadSize: args.size, ttl: args.ttl, flows: explainer?.flows },
    );
  } finally {
    explainer?.close();
  }
  const byTarget: Array<RoundResult | undefined> = args.targets.map(() => undefined);
  live.forEach((x, k) => (byTarget[x.i] = rounds[k]));
  runtime.close();
  const none: RoundResult = { sent: 0, received: 0, duplicates: 0, rtts: [], replySeqs: [], lost: [] };

  if (args.json) {
    const out = args.targets.map((t, i) => {
      const r = byTarget[i] ?? none;
      return {
        target: t,
        address: addresses[i] ?? null,
        sent: r.sent,
        received: r.received,
        loss: r.sent ? 1 - r.received / r.sent : 1,
        duplicates: r.duplicates,
        rtt: rttStats(r.rtts) ?? null,
        ...(args.explain ? { attribution: r.attribution ?? [] } : {}),
      };
    });
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    const width = Math.max(...args.targets.map((t) => t.length));
    args.targets.forEach((t, i) => {
      const r = byTarget[i];
      if (!r) return;
      const name = t.padEnd(width);
      // fping -c prints one line per reply; here, per target, the replies in send order, then the lost ones.
      r.rtts.forEach((rtt, k) => process.stdout.write(`${name} : [${r.replySeqs[k]}], ${ms(rtt)} ms\n`));
      for (const a of r.attribution ?? []) process.stdout.write(`${name} : [${a.seq}], lost: ${describeLoss(a)}\n`);
      if (r.error) process.stdout.write(`${name} : ${r.error.kind.replace('_', ' ')} from ${r.error.from ?? '?'} (code ${r.error.code})\n`);
    });
    args.targets.forEach((t, i) => {
      const r = byTarget[i] ?? none;
      process.stderr.write(`${summaryLine(t.padEnd(width), r)}\n`);
    });
  }
  return byTarget.every((r) => r !== undefined && r.received > 0) ? 0 : 1;
}
