// `sonde ping` flags, with fping's meanings: times in milliseconds, -c/-C/-l count modes, the
// default "alive" mode with retries, -a/-u/-q/-e for what is printed, -f/-g for where targets
// come from. Values out of range are usage errors, never adjusted.
import { UsageError, parseArgs } from './args';
import { generateTargets, readTargetFile } from './targets';

export const PING_USAGE = `usage: sonde ping [FLAGS] TARGET...   (or -f FILE, -f - for stdin, -g NETWORK)
fping's flags, with fping's meanings (times in milliseconds; a unit is allowed: 200ms, 1.5s):
  -c COUNT     count mode: COUNT echoes per target, each reply printed, per-target summary on stderr
  -C COUNT     as -c, the summary lists every RTT of a target ("-" for a lost echo)
  -l           loop: echoes until interrupted (Ctrl-C or SIGTERM prints the summary)
               without -c/-C/-l: fping's default mode, "TARGET is alive" or "TARGET is unreachable"
  -p PERIOD    time between echoes to one target in -c/-C/-l modes (default 1000 ms, at least 0.1)
  -i INTERVAL  time between any two echoes sent (default 0: sonde sends each round at the engine's
               rate; fping's default is 10 ms)
  -t TIMEOUT   how long an echo waits for its reply (default 500 ms; in -c/-C/-l modes the period,
               at most 2000 ms, as fping)
  -r RETRY     default mode: echoes re-sent to a silent target (default 3)
  -B FACTOR    default mode: each retry waits FACTOR times longer (default 1.5)
  -b SIZE      payload bytes, 12 to 8192 (default 56; sonde needs 12 for its timestamp); -s is the
               same (fping's -s, final statistics, is what sonde prints anyway)
  -H TTL       IP TTL / hop limit of the requests, 1 to 255 (also --ttl)
  -q           quiet: no per-echo lines, only the summary
  -a           default mode: show only targets that are alive
  -u           default mode: show only targets that are unreachable
  -e           show the RTT of the reply that made a target alive
  -f FILE      read targets from FILE, one a line ('#' starts a comment); "-f -" reads stdin
  -g NETWORK   every host of an IPv4 network (198.18.0.0/24: .1 to .254) or a range A.B.C.D-E.F.G.H
  -4, -6       resolve names to IPv4 (default) or IPv6 addresses
sonde's own:
  --live       print each reply and timeout as it happens even when stdout is not a terminal
               (on a terminal that is the default; otherwise replies are grouped by target at the end)
  --json       print one array, one object per target, once the run ends (or is interrupted)
  --explain    load the eBPF drop tracer: each lost echo gets a verdict (local_drop with the kernel's
               reason and location, path_loss, or unknown)
  --xdp-interface IFACE
               with --explain, also watch replies arriving on IFACE (XDP), to tell "reached the NIC"
An interrupted run counts only echoes whose fate is known (answered or timed out).
exit status (fping's): 0 every target answered, 1 some did not (or did not resolve), 2 usage error
(fping: 3), 4 the ICMP sockets could not be opened`;

export type PingMode = 'alive' | 'count' | 'loop';

export interface PingArgs {
  targets: string[];
  mode: PingMode;
  /** echoes per target in count mode */
  count: number;
  /** -C: the summary lists each RTT */
  perRtt: boolean;
  /** ms between echoes to one target */
  period: number;
  /** ms between any two echoes (0: unpaced) */
  interval: number;
  /** ms each echo waits */
  timeout: number;
  retries: number;
  backoff: number;
  size: number;
  ttl?: number;
  family: 4 | 6;
  quiet: boolean;
  showAlive: boolean;
  showUnreachable: boolean;
  elapsed: boolean;
  live: boolean;
  json: boolean;
  explain: boolean;
  xdpInterface?: string;
}

const SPEC = {
  count: { value: true, aliases: ['-c'] },
  'count-rtts': { value: true, aliases: ['-C'] },
  loop: { value: false, aliases: ['-l'] },
  period: { value: true, aliases: ['-p'] },
  interval: { value: true, aliases: ['-i'] },
  timeout: { value: true, aliases: ['-t'] },
  retry: { value: true, aliases: ['-r'] },
  backoff: { value: true, aliases: ['-B'] },
  size: { value: true, aliases: ['-b', '-s'] },
  ttl: { value: true, aliases: ['-H'] },
  quiet: { value: false, aliases: ['-q'] },
  alive: { value: false, aliases: ['-a'] },
  unreach: { value: false, aliases: ['-u'] },
  elapsed: { value: false, aliases: ['-e'] },
  file: { value: true, aliases: ['-f'] },
  generate: { value: true, aliases: ['-g'] },
  ipv4: { value: false, aliases: ['-4'] },
  ipv6: { value: false, aliases: ['-6'] },
  live: { value: false },
  json: { value: false },
  explain: { value: false },
  'xdp-interface': { value: true },
  help: { value: false, aliases: ['-h'] },
};

/** Milliseconds from "500", "0.5", "200ms" or "1.5s", within [min, max]. */
export function msFlag(flag: string, v: string | boolean | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v) : null;
  if (!m) throw new UsageError(`${flag}: got ${JSON.stringify(v)}, expected milliseconds such as 500, 200ms or 1.5s`);
  const n = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  if (n < min || n > max) throw new UsageError(`${flag}: got ${JSON.stringify(v)}, expected ${min} to ${max} ms`);
  return n;
}

function intOf(flag: string, v: string | boolean | undefined, dflt: number, min: number, max: number, why = ''): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag}: got ${JSON.stringify(v)}, expected an integer from ${min} to ${max}${why}`);
  return n;
}

/** Parses argv; `{ help: true }` for --help. -f and -g read or generate their targets here. */
export function parsePingArgs(argv: readonly string[]): PingArgs | { help: true } {
  const { flags, positional } = parseArgs([...argv], SPEC);
  if (flags.help) return { help: true };
  const modes = [flags.count !== undefined && '-c', flags['count-rtts'] !== undefined && '-C', flags.loop && '-l'].filter(Boolean);
  if (modes.length > 1) throw new UsageError(`${modes.join(' and ')} exclude each other`);
  const mode: PingMode = flags.loop ? 'loop' : modes.length ? 'count' : 'alive';
  const count = intOf(flags.count !== undefined ? '-c' : '-C', flags.count ?? flags['count-rtts'], 1, 1, 10_000_000);
  const period = msFlag('-p', flags.period, 1000, 0.1, 3_600_000);
  if (flags.ipv4 && flags.ipv6) throw new UsageError('-4 and -6 exclude each other');
  const xdp = flags['xdp-interface'] as string | undefined;
  if (xdp !== undefined && !/^[\w.@-]{1,15}$/.test(xdp)) throw new UsageError(`--xdp-interface: got ${JSON.stringify(xdp)}, expected an interface name`);
  if (xdp !== undefined && !flags.explain) throw new UsageError('--xdp-interface needs --explain');
  if (flags.alive && flags.unreach) throw new UsageError('-a and -u exclude each other');
  if (mode !== 'alive' && (flags.retry !== undefined || flags.backoff !== undefined)) throw new UsageError('-r and -B apply to the default mode only (not with -c, -C or -l)');
  const backoff = flags.backoff === undefined ? 1.5 : Number(flags.backoff);
  if (!(backoff >= 1 && backoff <= 5)) throw new UsageError(`-B: got ${JSON.stringify(flags.backoff)}, expected a number from 1 to 5`);
  const targets = [...positional];
  if (typeof flags.file === 'string') for (const t of readTargetFile(flags.file)) targets.push(t);
  if (typeof flags.generate === 'string') for (const t of generateTargets(flags.generate)) targets.push(t);
  if (targets.length === 0) throw new UsageError('no target given (TARGET..., -f FILE or -g NETWORK)');
  return {
    targets,
    mode,
    count,
    perRtt: flags['count-rtts'] !== undefined,
    period,
    interval: msFlag('-i', flags.interval, 0, 0, 60_000),
    timeout: msFlag('-t', flags.timeout, mode === 'alive' ? 500 : Math.min(period, 2000), 1, 3_600_000),
    retries: intOf('-r', flags.retry, 3, 0, 20),
    backoff,
    size: intOf('-b', flags.size, 56, 12, 8192, ' bytes (sonde needs 12 for its timestamp)'),
    ttl: flags.ttl === undefined ? undefined : intOf('-H', flags.ttl, 64, 1, 255),
    family: flags.ipv6 ? 6 : 4,
    quiet: flags.quiet === true,
    showAlive: flags.alive === true,
    showUnreachable: flags.unreach === true,
    elapsed: flags.elapsed === true,
    live: flags.live === true,
    json: flags.json === true,
    explain: flags.explain === true,
    xdpInterface: xdp,
  };
}
