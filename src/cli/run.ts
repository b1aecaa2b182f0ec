// `sonde run`: the daemon in the foreground (systemd runs it so, with Type=notify).
import { errorLine } from './output';
import { parseListenAddress } from '../api/server';
import { ConfigError } from '../config/load';
import { DEFAULT_PROBE_LIMITS } from '../api/admission';
import { Daemon, DEFAULT_LISTENER_LIMITS } from '../daemon';
import { createLogger, isLogLevel, LOG_LEVELS } from '../log';
import { UsageError, intFlag, parseArgs, secondsFlag } from './args';

export const DEFAULT_LISTEN = ':9925';

const HELP = `usage: sonde run [--config FILE] [--web.listen-address HOST:PORT] [--log.level LEVEL]

  --config FILE                 YAML config (modules: as blackbox_exporter, tasks: continuous probes);
                                without it a built-in config probes this daemon's own endpoints
  --web.listen-address ADDR     where /metrics and /probe are served (default ${DEFAULT_LISTEN})
  --log.level LEVEL             ${LOG_LEVELS.join(', ')} (default info)
  --probes.max-in-flight N      probes running at once across all tasks (default 4096)
  --probe.max-concurrent N      /probe requests probing at once; more are answered 503 (default 2048)
  --probe.max-concurrent-per-client N
                                the same, per client address (default 1024)
  --probe.max-timeout SECONDS   the longest /probe timeout a client may ask for (default 120)
  --timeout-offset SECONDS      subtracted from X-Prometheus-Scrape-Timeout-Seconds, as blackbox (default 0.5)
  --web.max-connections N       connections the listener holds at once; more are closed (default 4096)
  --web.max-connections-per-client N
                                the same, per client address (default 1024)
  --web.header-timeout SECONDS  a request head must arrive whole within this (default 10)
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
    'probe.max-concurrent': { value: true },
    'probe.max-concurrent-per-client': { value: true },
    'probe.max-timeout': { value: true },
    'timeout-offset': { value: true },
    'web.max-connections': { value: true },
    'web.max-connections-per-client': { value: true },
    'web.header-timeout': { value: true },
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
  const offset = flags['timeout-offset'] === undefined ? DEFAULT_PROBE_LIMITS.timeoutOffsetSeconds : Number(flags['timeout-offset']);
  if (!(offset >= 0 && offset < 60)) throw new UsageError(`--timeout-offset: got ${JSON.stringify(flags['timeout-offset'])}, expected seconds from 0 to 60`);
  const probeLimits = {
    maxConcurrent: intFlag(flags['probe.max-concurrent'], '--probe.max-concurrent', DEFAULT_PROBE_LIMITS.maxConcurrent, 1, 1_000_000),
    maxPerClient: intFlag(flags['probe.max-concurrent-per-client'], '--probe.max-concurrent-per-client', DEFAULT_PROBE_LIMITS.maxPerClient, 1, 1_000_000),
    maxTimeoutSeconds: secondsFlag(flags['probe.max-timeout'], '--probe.max-timeout', DEFAULT_PROBE_LIMITS.maxTimeoutSeconds),
    timeoutOffsetSeconds: offset,
  };
  const listenerLimits = {
    maxConnections: intFlag(flags['web.max-connections'], '--web.max-connections', DEFAULT_LISTENER_LIMITS.maxConnections, 1, 1 << 20),
    maxPerClient: intFlag(flags['web.max-connections-per-client'], '--web.max-connections-per-client', DEFAULT_LISTENER_LIMITS.maxPerClient, 1, 1 << 20),
    headerTimeoutMs: Math.round(secondsFlag(flags['web.header-timeout'], '--web.header-timeout', DEFAULT_LISTENER_LIMITS.headerTimeoutMs / 1000) * 1000),
  };
  const daemon = new Daemon({
    configFile: flags.config as string | undefined,
    listen,
    logger,
    maxInFlight,
    ebpf: !flags['no-ebpf'],
    xdpInterfaces,
    ebpfLimits,
    probeLimits,
    listenerLimits,
  });
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
