// `sonde drops [--all] [--duration S] [--json]`: a live table of kernel packet drops with their reasons
// (like dropwatch, but with the kernel's own reason names and symbol+offset locations), then a summary.
//   default   drops in this network namespace (the probe host's); when given the daemon's tracer,
//             only drops of registered probe flows
//   --all     every drop in every network namespace
// Exit: 0 done, 1 eBPF unavailable, 2 usage error.
import { openDropTracer, type BpfEvent, type DropTracer } from '../native/bpf';
import { UsageError, parseArgs } from './args';

export interface DropRow {
  reason: string;
  location: string;
  direction: string;
  count: number;
}

export interface DropsSummary {
  durationSeconds: number;
  scope: 'probe-flows' | 'local-netns' | 'all';
  total: number;
  eventsLost: number;
  drops: DropRow[];
  programs: Array<{ name: string; runCnt: number; nsPerRun: number }>;
}

interface DropsArgs {
  all: boolean;
  duration: number;
  json: boolean;
}

const USAGE = `usage: sonde drops [--all] [--duration SECONDS] [--json]
  --all             every drop in every network namespace (default: this namespace's; with the
                    daemon's tracer, only drops of registered probe flows)
  --duration S      seconds to watch, up to 86400 (default 10); Ctrl-C ends it early with the summary
  --json            print the summary as one JSON object instead of the live table
exit status: 0 done, 1 eBPF unavailable, 2 usage error`;

/** The arguments, `{ help: true }` for --help, or a usage error message. */
export function parseDropsArgs(argv: string[]): DropsArgs | { help: true } | string {
  let parsed;
  try {
    parsed = parseArgs(argv, { all: { value: false }, duration: { value: true }, json: { value: false }, help: { value: false, aliases: ['-h'] } });
  } catch (err) {
    if (err instanceof UsageError) return `${err.message}\n${USAGE}`;
    throw err;
  }
  const { flags, positional } = parsed;
  if (flags.help) return { help: true };
  if (positional.length > 0) return `unexpected argument ${JSON.stringify(positional[0])}\n${USAGE}`;
  const v = flags.duration;
  const n = typeof v === 'string' ? Number(v) : 10;
  if (v !== undefined && (!Number.isFinite(n) || n <= 0 || n > 86400)) return `--duration: got ${JSON.stringify(v)}, expected seconds in (0, 86400]`;
  return { all: flags.all === true, duration: n, json: flags.json === true };
}

/** Counts drops by (reason, location, direction); bounded so that `--all` on a busy host stays small. */
export class DropTable {
  private readonly rows = new Map<string, DropRow>();
  total = 0;
  other = 0;

  constructor(private readonly maxRows = 1000) {}

  add(events: readonly BpfEvent[], accept: (e: BpfEvent) => boolean): void {
    for (const e of events) {
      if (e.kind !== 'drop' || !accept(e)) continue;
      this.total++;
      const key = `${e.reason}|${e.location}|${e.direction}`;
      const row = this.rows.get(key);
      if (row) row.count++;
      else if (this.rows.size < this.maxRows) this.rows.set(key, { reason: e.reason ?? '?', location: e.location ?? '?', direction: e.direction, count: 1 });
      else this.other++;
    }
  }

  sorted(): DropRow[] {
    return [...this.rows.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }

  render(limit = 30): string {
    const rows = this.sorted().slice(0, limit);
    const w = { reason: 6, location: 8 };
    for (const r of rows) {
      w.reason = Math.max(w.reason, r.reason.length);
      w.location = Math.max(w.location, r.location.length);
    }
    const line = (c: string, r: string, l: string, d: string): string => `${c.padStart(8)}  ${r.padEnd(w.reason)}  ${l.padEnd(w.location)}  ${d}`;
    const out = [line('COUNT', 'REASON', 'LOCATION', 'DIRECTION')];
    for (const r of rows) out.push(line(String(r.count), r.reason, r.location, r.direction));
    if (this.other > 0) out.push(`${String(this.other).padStart(8)}  (in rows beyond the first ${this.maxRows})`);
    return out.join('\n');
  }
}

export async function dropsCommand(argv: string[], deps: { tracer?: DropTracer; out?: NodeJS.WritableStream } = {}): Promise<number> {
  const out = deps.out ?? process.stdout;
  const args = parseDropsArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`sonde drops: ${args}\n`);
    return 2;
  }
  if ('help' in args) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const owned = !deps.tracer;
  const tracer = deps.tracer ?? openDropTracer({ reportAll: true, localNetns: args.all ? 0 : 'self', xdpEvents: false }, (m) => process.stderr.write(`${m}\n`));
  if (!tracer) return 1;
  const scope: DropsSummary['scope'] = args.all ? 'all' : owned ? 'local-netns' : 'probe-flows';
  const table = new DropTable();
  const accept = (e: BpfEvent): boolean => scope === 'all' || (scope === 'local-netns' ? e.netns === tracer.localNetns : e.flowId !== 0);
  const off = tracer.onEvents((evs) => table.add(evs, accept));
  const live = !args.json && (out as NodeJS.WriteStream).isTTY === true;
  const started = Date.now();
  let onSigint = (): void => undefined;
  const stopSignal = new Promise<void>((resolve) => {
    onSigint = resolve;
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigint);
    setTimeout(resolve, args.duration * 1000);
  });
  const refresh = live
    ? setInterval(() => {
        const secs = ((Date.now() - started) / 1000).toFixed(0);
        out.write(`\x1b[H\x1b[2Jsonde drops (${scope}), ${secs}/${args.duration} s, ${table.total} drops\n\n${table.render()}\n`);
      }, 1000)
    : undefined;
  await stopSignal;
  process.removeListener('SIGINT', onSigint);
  process.removeListener('SIGTERM', onSigint);
  if (refresh) clearInterval(refresh);
  await tracer.drain();
  off();
  const stats = tracer.stats();
  if (owned) tracer.stop();
  const summary: DropsSummary = {
    durationSeconds: (Date.now() - started) / 1000,
    scope,
    total: table.total,
    eventsLost: stats.eventsLost,
    drops: table.sorted(),
    programs: stats.programs.map((p) => ({ name: p.name, runCnt: p.runCnt, nsPerRun: Math.round(p.nsPerRun) })),
  };
  if (args.json) {
    out.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    out.write(`\nsummary: ${summary.total} drops in ${summary.durationSeconds.toFixed(1)} s (${scope})`);
    out.write(summary.eventsLost ? `, ${summary.eventsLost} events lost (ring full)\n\n` : '\n\n');
    out.write(`${table.render(100)}\n`);
  }
  return 0;
}
