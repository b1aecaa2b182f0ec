// `sonde ping`: fping's habits (ping_args.ts) on the native ICMP engine: many targets at once, each
// reply and timeout printed as it happens on a terminal, the per-target summary at the end or on
// SIGINT/SIGTERM, and with --explain where every lost echo was lost (eBPF attribution, issue 4).
// Output is written with backpressure (a million targets, a slow pipe) and flushed before exit.
import { IcmpSocketError, type IcmpOutcome } from '../native/icmp';
import { icmpTableLog2, Runtime } from '../runtime';
import { resolveLocal, resolveTarget } from '../probers/resolve';
import { explainLost, rttStats, watchEchoes } from '../probers/icmp/round';
import type { Attribution } from '../result';
import { UsageError } from './args';
import type { Explainer } from './explain';
import { errnoText, writeAll, writeJsonArray, writeLines } from './output';
import { PING_USAGE, parsePingArgs, type PingArgs } from './ping_args';
import { newStats, PingRun, type TargetStats } from './ping_run';
import { Progress } from './progress';
import { notAHost } from './targets';

/** fping prints RTTs in ms with at least three significant digits. */
export function fmtMs(seconds: number): string {
  const v = seconds * 1000;
  return v < 10 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(1);
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

const ERROR_NAMES: Record<string, string> = {
  unreachable: 'ICMP Unreachable',
  time_exceeded: 'ICMP Time Exceeded',
  packet_too_big: 'ICMP Packet Too Big',
  parameter_problem: 'ICMP Parameter Problem',
};

/** fping's line for an ICMP error, or a refused send with its errno name. */
function errorText(name: string, o: IcmpOutcome): string {
  if (o.kind === 'send_error') return `${name} : send failed: ${errnoText(o.info)}`;
  return `${ERROR_NAMES[o.kind] ?? o.kind} (code ${o.code}) from ${o.from ?? '?'} for ICMP Echo sent to ${name}`;
}

function lossPct(s: TargetStats): number {
  return s.sent ? Math.round((1 - s.received / s.sent) * 100) : 0;
}

function avg(s: TargetStats): string {
  return s.received ? fmtMs(s.rttSum / s.received) : 'NaN';
}

function summaryLine(name: string, s: TargetStats, perRtt: boolean): string {
  if (perRtt) return `${name} : ${(s.bySeq ?? []).map((r) => (r === null || r === undefined ? '-' : fmtMs(r))).join(' ')}`;
  const dup = s.duplicates ? `, ${s.duplicates} duplicates` : '';
  const rtt = s.received ? `, min/avg/max = ${fmtMs(s.rttMin)}/${fmtMs(s.rttSum / s.received)}/${fmtMs(s.rttMax)}` : '';
  return `${name} : xmt/rcv/%loss = ${s.sent}/${s.received}/${s.sent ? lossPct(s) : 100}%${dup}${rtt}`;
}

interface Resolution {
  /** per target: its address, or undefined when it did not resolve */
  addresses: Array<string | undefined>;
  failures: number;
}

/** IP literals and hosts-file names at once; other names through the resolver, 64 at a time; non-names never. */
async function resolveAll(targets: readonly string[], family: 4 | 6): Promise<Resolution> {
  const proto = family === 6 ? 'ip6' : 'ip4';
  const addresses: Array<string | undefined> = new Array<string | undefined>(targets.length);
  const names: number[] = [];
  let failures = 0;
  const fail = (t: string, why: string): void => {
    failures++;
    process.stderr.write(`${t}: ${why}\n`);
  };
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    const bad = notAHost(t);
    if (bad) {
      fail(t, bad);
      continue;
    }
    try {
      const local = resolveLocal(t, proto, true);
      if (local) addresses[i] = local.addresses[0];
      else names.push(i);
    } catch (err) {
      fail(t, (err as Error).message);
    }
  }
  const ctl = new AbortController();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = names[next++];
      try {
        addresses[i] = (await resolveTarget(targets[i], proto, true, ctl)).addresses[0];
      } catch (err) {
        fail(targets[i], (err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, names.length) }, worker));
  return { addresses, failures };
}

export async function pingCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parsePingArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sonde ping: ${err.message}\n${PING_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if ('help' in parsed) {
    process.stdout.write(`${PING_USAGE}\n`);
    return 0;
  }
  return ping(parsed);
}

async function ping(args: PingArgs): Promise<number> {
  const out = process.stdout;
  const { addresses: byTarget } = await resolveAll(args.targets, args.family);
  let engine;
  const runtime = new Runtime({ icmpCapacityLog2: icmpTableLog2(Math.ceil(echoesInFlight(args, args.targets.length) / 16)) });
  try {
    engine = runtime.icmp();
  } catch (err) {
    if (err instanceof IcmpSocketError) {
      process.stderr.write(`sonde ping: ${err.message}\n`);
      return 4;
    }
    throw err;
  }
  // The engine's targets are those that resolved: live[k] is the index in args.targets of target k.
  const live: number[] = [];
  for (let i = 0; i < byTarget.length; i++) if (byTarget[i] !== undefined) live.push(i);
  const addresses = live.map((i) => byTarget[i] as string);
  let width = 0;
  for (const t of args.targets) if (t.length > width) width = t.length;
  const name = (k: number): string => args.targets[live[k]].padEnd(width);

  const liveOutput = !args.json && !args.quiet && (args.live || out.isTTY === true);
  const grouped = !args.json && !args.quiet && !liveOutput && args.mode !== 'alive';
  const stats = live.map(() => newStats(grouped || args.perRtt));
  const bytes = args.size + 8;
  const print = (line: string): void => void out.write(`${line}\n`);
  const showAlive = !args.json && !args.quiet && !args.showUnreachable;
  const showUnreachable = !args.json && !args.quiet && !args.showAlive;
  const events =
    args.mode === 'alive'
      ? {
          reply: (k: number, _seq: number, rtt: number) => {
            if (showAlive && stats[k].received === 1) print(`${args.targets[live[k]]} is alive${args.elapsed ? ` (${fmtMs(rtt)} ms)` : ''}`);
          },
          unreachable: (k: number) => (showUnreachable ? print(`${args.targets[live[k]]} is unreachable`) : undefined),
        }
      : liveOutput
        ? {
            reply: (k: number, seq: number, rtt: number) => print(`${name(k)} : [${seq}], ${bytes} bytes, ${fmtMs(rtt)} ms (${avg(stats[k])} avg, ${lossPct(stats[k])}% loss)`),
            duplicate: (k: number, seq: number, rtt: number) => print(`${name(k)} : duplicate for [${seq}], ${bytes} bytes, ${fmtMs(rtt)} ms`),
            timeout: (k: number, seq: number) => print(`${name(k)} : [${seq}], timed out (${avg(stats[k])} avg, ${lossPct(stats[k])}% loss)`),
            error: (k: number, _seq: number, o: IcmpOutcome) => void process.stderr.write(`${errorText(name(k).trim(), o)}\n`),
          }
        : {};

  const ctl = new AbortController();
  const stop = (): void => ctl.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // The eBPF tracer's modules load only for --explain: a plain ping does not pay for them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a require at first use, as main.ts loads commands
  const explain = args.explain ? (require('./explain.js') as typeof import('./explain.js')) : undefined;
  const explainer: Explainer | undefined = explain ? await explain.openExplainer({ xdpInterface: args.xdpInterface }) : undefined;
  const watch = explainer ? watchEchoes(explainer.flows, addresses) : undefined;
  const run = new PingRun(engine, addresses, stats, args, events, ctl.signal);
  // Progress on stderr only where it cannot mix with replies printed to the same terminal.
  const progress = process.stderr.isTTY && !(liveOutput && out.isTTY) ? new Progress(process.stderr, () => pingProgress(run, stats)) : undefined;
  try {
    await run.run();
    if (explainer && watch) await explainLost(explainer.flows, addresses.map((a) => watch.get(a) ?? 0), stats, engine.privileged);
  } finally {
    progress?.stop();
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    for (const id of watch?.values() ?? []) if (id > 0) explainer?.flows.remove(id);
    explainer?.close();
    runtime.close();
  }

  const statsOf: Array<TargetStats | undefined> = new Array<TargetStats | undefined>(args.targets.length);
  live.forEach((i, k) => (statsOf[i] = stats[k]));
  if (args.json) {
    await writeJsonArray(out, args.targets.length, (i) => {
      const s = statsOf[i] ?? newStats(false);
      return {
        target: args.targets[i],
        address: byTarget[i] ?? null,
        sent: s.sent,
        received: s.received,
        loss: s.sent ? 1 - s.received / s.sent : 1,
        duplicates: s.duplicates,
        rtt: rttStats(s.rtts) ?? null,
        ...(args.explain ? { attribution: s.attribution ?? [] } : {}),
      };
    });
  } else if (grouped) {
    // Not on a terminal: per target, the replies by echo number, then the lost ones.
    await writeLines(out, stats.length, (k) => {
      const s = stats[k];
      const lines: string[] = [];
      (s.bySeq ?? []).forEach((rtt, seq) => (rtt !== null && rtt !== undefined ? lines.push(`${name(k)} : [${seq}], ${bytes} bytes, ${fmtMs(rtt)} ms`) : undefined));
      for (const a of s.attribution ?? []) lines.push(`${name(k)} : [${a.seq}], lost: ${describeLoss(a)}`);
      if (s.error) lines.push(errorText(name(k).trim(), s.error));
      return lines.length ? lines.join('\n') : undefined;
    });
  } else if (liveOutput && args.explain) {
    await writeLines(out, stats.length, (k) => (stats[k].attribution ?? []).map((a) => `${name(k)} : [${a.seq}], lost: ${describeLoss(a)}`).join('\n') || undefined);
  }
  if (!args.json && args.mode !== 'alive') {
    await writeLines(process.stderr, args.targets.length, (i) => (statsOf[i] ? summaryLine(args.targets[i].padEnd(width), statsOf[i], args.perRtt) : undefined));
  }
  await writeAll(out, '');
  let answered = 0;
  for (const s of stats) if (s.received > 0) answered++;
  return answered === args.targets.length ? 0 : 1;
}

/**
 * The most echoes the run can hold in the engine's table at once: each holds its slot until its
 * timeout, rounds leave a period apart (the default mode's retries one after the other). Sizing the
 * table to it keeps a small run's start and memory small (icmpTableLog2 gives 16 slots per probe).
 */
function echoesInFlight(args: PingArgs, targets: number): number {
  if (args.mode === 'alive') return targets;
  const rounds = Math.ceil(args.timeout / args.period) + 2;
  return targets * Math.min(args.mode === 'loop' ? rounds : args.count, rounds);
}

function pingProgress(run: PingRun, stats: readonly TargetStats[]): string {
  let answered = 0;
  let sent = 0;
  for (const s of stats) {
    if (s.received > 0) answered++;
    sent += s.sent;
  }
  return `sonde ping: round ${run.rounds}, ${sent} echoes done, ${run.inFlight} in flight, ${answered}/${stats.length} targets answered`;
}
