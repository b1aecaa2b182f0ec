// `sonde run`: the daemon in the foreground (systemd runs it so, with Type=notify).
import { errorLine } from './output';
import { parseListenAddress } from '../api/server';
import { ConfigError } from '../config/load';
import { Daemon } from '../daemon';
import { createLogger, isLogLevel, LOG_LEVELS } from '../log';
import { UsageError, intFlag, parseArgs } from './args';

export const DEFAULT_LISTEN = ':9925';

const HELP = `usage: sonde run [--config FILE] [--web.listen-address HOST:PORT] [--log.level LEVEL]

  --config FILE                 YAML config (modules: as blackbox_exporter, tasks: continuous probes);
                                without it a built-in config probes this daemon's own endpoints
  --web.listen-address ADDR     where /metrics and /probe are served (default ${DEFAULT_LISTEN})
  --log.level LEVEL             ${LOG_LEVELS.join(', ')} (default info)
  --probes.max-in-flight N      probes running at once across all tasks (default 4096)
  --ebpf.xdp-interface IFACE    attach the XDP observer to IFACE (comma-separated list allowed)
  --no-ebpf                     do not load the eBPF drop tracer (attribution becomes "unknown")
  --ebpf.max-flows N            probe flows the eBPF flow map holds at once (default 65536)
  --ebpf.ring-bytes N           eBPF ring buffer size (default 1 MiB; overflow is counted in sonde_bpf_events_lost_total)
`;

export async function runCommand(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, {
    config: { value: true, aliases: ['--config.file'] },
    'web.listen-address': { value: true },
    'log.level': { value: true },
    'probes.max-in-flight': { value: true },
    'ebpf.xdp-interface': { value: true },
    'no-ebpf': { value: false },
    'ebpf.max-flows': { value: true },
    'ebpf.ring-bytes': { value: true },
    help: { value: false, aliases: ['-h'] },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const level = (flags['log.level'] as string | undefined) ?? 'info';
  if (!isLogLevel(level)) throw new UsageError(`--log.level: got ${JSON.stringify(level)}, expected one of ${LOG_LEVELS.join(', ')}`);
  let listen;
  try {
    listen = parseListenAddress((flags['web.listen-address'] as string | undefined) ?? DEFAULT_LISTEN);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const maxInFlight = intFlag(flags['probes.max-in-flight'], '--probes.max-in-flight', 4096, 1, 1_000_000);
  const logger = createLogger(level);
  const xdpInterfaces = typeof flags['ebpf.xdp-interface'] === 'string' ? flags['ebpf.xdp-interface'].split(',').filter(Boolean) : [];
  const ebpfLimits = {
    maxFlows: intFlag(flags['ebpf.max-flows'], '--ebpf.max-flows', 65536, 1024, 1 << 24),
    ringBytes: intFlag(flags['ebpf.ring-bytes'], '--ebpf.ring-bytes', 1 << 20, 4096, 1 << 30),
  };
  const daemon = new Daemon({ configFile: flags.config as string | undefined, listen, logger, maxInFlight, ebpf: !flags['no-ebpf'], xdpInterfaces, ebpfLimits });
  try {
    await daemon.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    // One line a user can act on (EADDRINUSE named, no stack); under systemd stderr is the journal.
    const line = errorLine(err);
    const where = /^E[A-Z]+ /.test(line) ? ` on ${(flags['web.listen-address'] as string | undefined) ?? DEFAULT_LISTEN}` : '';
    process.stderr.write(`sonde run: cannot start${where}: ${line}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => daemon.handleSignals(() => resolve(0)));
}
