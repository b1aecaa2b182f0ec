// `sonde scan` flags: nmap's and masscan's where they mean the same (-p with nmap's port syntax,
// -iL, --rate, --retries, --wait, --shard, --seed, --exclude in masscan's file format, -oG), and
// sonde's own (--then, --all-states, --ndjson). Bad values are usage errors (exit 2), never adjusted.
import { isIP } from 'node:net';
import type { PortRange } from '../native/syn_types';
import { parsePorts } from '../scan/ports';
import { readSpecFile, type SpecSource } from '../scan/spec_file';
import { UsageError, parseArgs } from './args';

export const SCAN_USAGE = `usage: sonde scan TARGET... -p PORTS --rate PPS [FLAGS]
A stateless SYN half-open scan (as zmap, masscan, nmap -sS): every port of every target once, in
a random order, at the rate given; open ports are printed as they are found.
  TARGET          an address, a CIDR (198.18.0.0/24, fd5e:ed00::/120), a range FIRST-LAST
                  (198.18.0.1-198.18.0.200), a host name (resolved once, its first address), or
                  @FILE: targets read from FILE, one or more a line, '#' starts a comment
  -iL FILE        targets from FILE as @FILE ("-" reads stdin)
  -p PORTS        nmap's port syntax: 22,80,8000-8100; -p- is 1-65535; -p -1024 is 1-1024
  --rate PPS      SYNs per second (required: a scan never picks its own rate)
  --retries N     extra SYNs to a silent port before it is filtered (default 1)
  --wait S        seconds to wait for answers after the last SYN (default 1)
  --shard I/N     this host's share of the same random order: 0/3, 1/3 and 2/3 cover it once
  --seed N        the random order and cookie key (default random): the same seed, the same order
  --exclude FILE  addresses never scanned, masscan's format: addresses, CIDRs, ranges, '#' comments
  --all-states    report closed and filtered ports too (default: open ports only)
  --explain       load the eBPF drop tracer: each port filtered by silence is reported with where its
                  SYN or reply was lost (local_drop with the kernel's reason and hook, or path_loss:
                  the SYN left and nothing came back), and the summary counts the verdicts
  --ndjson        one JSON object a line as results arrive: {"ip","port","state","reason","ttl","rtt"}
  --json          one JSON array of those objects, written as results arrive
  --csv           ip,port,state,reason,ttl,rtt with a header line
  -oG FILE        nmap's grepable output to FILE ("-": stdout), one line per host at the end
                  (default output: "Discovered open port" lines as found, then a PORT STATE REASON
                  table per host, nmap-like)
  --source-ip A   source address (one of each family may be given: --source-ip A,B)
  --source-port LO-HI
                  the scanner's own source ports (default: the engine's range)
  --max-runtime S end the scan after S seconds, whatever is left (the summary says so)
  --then MODULE   hand each open port, as it is found, to a prober module of the config
                  (built in: tcp_connect, banner, tls, http_2xx); its verdict is printed with the hit
  --then-parallel N
                  --then probes running at once (default 32)
  --then-timeout S
                  timeout of each --then probe (default: the module's, else 5)
  --config FILE   config whose scan: section (allow, exclude) and modules: apply; the built-in
                  modules stay for names it does not define (default: loopback only)
  -4, -6          resolve host names to IPv4 (default) or IPv6 addresses
  --progress      the progress line on stderr even when stderr is not a terminal
exit status: 0 the scan ran, 1 it failed (no raw socket, engine error), 2 usage error or refusal
(a target outside scan.allow, no --rate, bad port syntax): nothing is sent then; 130 interrupted`;

export type ScanFormat = 'human' | 'ndjson' | 'json' | 'csv';

export interface ScanArgs {
  targets: SpecSource[];
  ports: PortRange[];
  rate: number;
  retries: number;
  waitMs: number;
  shard?: { index: number; count: number };
  seed?: bigint;
  excludeFile?: string;
  allStates: boolean;
  /** --explain: silent ports are reported with their loss verdict */
  explain: boolean;
  format: ScanFormat;
  grepable?: string;
  source4?: string;
  source6?: string;
  sourcePorts?: PortRange;
  maxRuntimeMs?: number;
  then?: string;
  thenParallel: number;
  thenTimeout?: number;
  config?: string;
  family: 4 | 6;
  progress: boolean;
}

const SPEC = {
  ports: { value: true, aliases: ['-p'] },
  rate: { value: true },
  retries: { value: true },
  wait: { value: true },
  shard: { value: true },
  seed: { value: true },
  exclude: { value: true, aliases: ['--excludefile'] },
  'input-list': { value: true, aliases: ['-iL'] },
  'all-states': { value: false },
  explain: { value: false },
  ndjson: { value: false },
  json: { value: false },
  csv: { value: false },
  grepable: { value: true, aliases: ['-oG'] },
  'source-ip': { value: true },
  'source-port': { value: true },
  'max-runtime': { value: true },
  then: { value: true },
  'then-parallel': { value: true },
  'then-timeout': { value: true },
  config: { value: true },
  ipv4: { value: false, aliases: ['-4'] },
  ipv6: { value: false, aliases: ['-6'] },
  progress: { value: false },
  help: { value: false, aliases: ['-h'] },
};

/** nmap's glued spellings: -p- and -p22,80 become -p - and -p 22,80. */
function unglue(argv: readonly string[]): string[] {
  return argv.flatMap((a) => (/^-p.+/.test(a) && !a.startsWith('--') ? ['-p', a.slice(2)] : [a]));
}

function seconds(flag: string, v: string | boolean | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && /^\d+(?:\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${flag}: got ${JSON.stringify(v)}, expected seconds from ${min} to ${max}`);
  return n;
}

function integer(flag: string, v: string | boolean | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(Number.isInteger(n) && n >= min && n <= max)) throw new UsageError(`${flag}: got ${JSON.stringify(v)}, expected an integer from ${min} to ${max}`);
  return n;
}

/** Most SYNs a second the engine is asked for (above any NIC this runs on). */
export const MAX_RATE = 100_000_000;

function rateOf(v: string | boolean | undefined): number {
  // A scan never picks a rate for its user: a missing --rate is a refusal, as the issue asks.
  if (v === undefined) throw new UsageError('--rate is required: say how many SYNs per second the scan may send (e.g. --rate 1000)');
  const n = typeof v === 'string' && /^\d+(?:\.\d+)?(?:[kKmM])?$/.test(v) ? Number(v.replace(/[kKmM]$/, '')) * (/[kK]$/.test(v) ? 1e3 : /[mM]$/.test(v) ? 1e6 : 1) : NaN;
  if (!(n > 0 && n <= MAX_RATE)) throw new UsageError(`--rate: got ${JSON.stringify(v)}, expected SYNs per second above 0 and at most ${MAX_RATE} (1k and 1m allowed)`);
  return n;
}

function shardOf(v: string | boolean | undefined): ScanArgs['shard'] {
  if (v === undefined) return undefined;
  const m = typeof v === 'string' ? /^(\d+)\/(\d+)$/.exec(v) : null;
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || count > 65535 || index >= count) throw new UsageError(`--shard: got ${JSON.stringify(v)}, expected I/N with 0 <= I < N (0/3, 1/3, 2/3 split a scan in three)`);
  return { index, count };
}

function seedOf(v: string | boolean | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^(?:\d{1,20}|0x[0-9a-f]{1,16})$/i.test(v) || BigInt(v) >= 1n << 64n) throw new UsageError(`--seed: got ${JSON.stringify(v)}, expected an integer below 2^64 (decimal or 0x hex)`);
  return BigInt(v);
}

function sourcePortsOf(v: string | boolean | undefined): PortRange | undefined {
  if (v === undefined) return undefined;
  const m = typeof v === 'string' ? /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v) : null;
  const lo = Number(m?.[1]);
  const hi = m?.[2] === undefined ? lo : Number(m[2]);
  if (!m || lo < 1024 || hi > 65535 || hi < lo) throw new UsageError(`--source-port: got ${JSON.stringify(v)}, expected a port or range LO-HI within 1024-65535`);
  return [lo, hi];
}

function sourcesOf(v: string | boolean | undefined): Pick<ScanArgs, 'source4' | 'source6'> {
  if (v === undefined) return {};
  const out: Pick<ScanArgs, 'source4' | 'source6'> = {};
  for (const a of String(v).split(',')) {
    const fam = isIP(a);
    if (fam === 0) throw new UsageError(`--source-ip: got ${JSON.stringify(a)}, expected an IP address`);
    const key = fam === 4 ? 'source4' : 'source6';
    if (out[key]) throw new UsageError(`--source-ip: two IPv${fam} addresses (${out[key]} and ${a})`);
    out[key] = a;
  }
  return out;
}

/** Parses argv; `{ help: true }` for --help. Target files are read here (a missing file is a usage error). */
export function parseScanArgs(argv: readonly string[]): ScanArgs | { help: true } {
  const { flags, positional } = parseArgs(unglue(argv), SPEC);
  if (flags.help) return { help: true };
  const formats = (['ndjson', 'json', 'csv'] as const).filter((f) => flags[f]);
  if (formats.length > 1) throw new UsageError(`--${formats.join(' and --')} exclude each other`);
  if (flags.ipv4 && flags.ipv6) throw new UsageError('-4 and -6 exclude each other');
  if (flags.ports === undefined) throw new UsageError('-p is required: the ports to scan, e.g. -p 22,80,443 or -p- for all');
  const ports = parsePorts(flags.ports as string);
  const rate = rateOf(flags.rate);
  const targets: SpecSource[] = [];
  for (const p of positional) {
    if (p.startsWith('@')) targets.push(...readSpecFile(p.slice(1), '@'));
    else for (const spec of p.split(',')) if (spec !== '') targets.push({ spec, origin: 'command line' });
  }
  if (typeof flags['input-list'] === 'string') targets.push(...readSpecFile(flags['input-list'], '-iL'));
  if (targets.length === 0) throw new UsageError('no target given (TARGET..., @FILE or -iL FILE)');
  if (flags['then-parallel'] !== undefined && flags.then === undefined) throw new UsageError('--then-parallel needs --then');
  if (flags['then-timeout'] !== undefined && flags.then === undefined) throw new UsageError('--then-timeout needs --then');
  const maxRuntime = flags['max-runtime'] === undefined ? undefined : seconds('--max-runtime', flags['max-runtime'], 0, 0.001, 7 * 86400);
  return {
    targets,
    ports,
    rate,
    retries: integer('--retries', flags.retries, 1, 0, 10),
    waitMs: Math.round(seconds('--wait', flags.wait, 1, 0, 600) * 1000),
    shard: shardOf(flags.shard),
    seed: seedOf(flags.seed),
    excludeFile: flags.exclude as string | undefined,
    allStates: flags['all-states'] === true,
    explain: flags.explain === true,
    format: formats[0] ?? 'human',
    grepable: flags.grepable as string | undefined,
    ...sourcesOf(flags['source-ip']),
    sourcePorts: sourcePortsOf(flags['source-port']),
    maxRuntimeMs: maxRuntime === undefined ? undefined : Math.round(maxRuntime * 1000),
    then: flags.then as string | undefined,
    thenParallel: integer('--then-parallel', flags['then-parallel'], 32, 1, 4096),
    thenTimeout: flags['then-timeout'] === undefined ? undefined : seconds('--then-timeout', flags['then-timeout'], 5, 0.001, 3600),
    config: flags.config as string | undefined,
    family: flags.ipv6 ? 6 : 4,
    progress: flags.progress === true,
  };
}
