// `sonde run`: the daemon in the foreground (systemd runs it so, with Type=notify).
import { errorLine } from './output';
import { parseListenAddress, systemdListenFds, SystemdSocketError, type ListenOn } from '../api/listen';
import { routePrefixOf } from '../api/web_paths';
import { ConfigError } from '../config/load';
import { DEFAULT_PROBE_LIMITS } from '../api/admission';
import { Daemon, DEFAULT_LISTENER_LIMITS, DEFAULT_TARGETS_RELOAD_SECONDS } from '../daemon';
import { createLogger, isLogLevel, LOG_FORMATS, LOG_LEVELS, type LogFormat } from '../log';
import { DEFAULT_HISTORY_LIMIT } from '../outputs/history';
import { WebTLSError } from '../web/tls';
import { StateFileError } from '../tasks/state_file';
import { VERSION } from '../version';
import { checkFiles } from './check_config';
import { defaultWorkers } from '../workers/runner';
import { UsageError, intFlag, parseArgs, secondsFlag } from './args';

export const DEFAULT_LISTEN = ':9925';

const HELP = `usage: sonde run [--config FILE] [--web.listen-address HOST:PORT]... [--web.config.file FILE] [--log.level LEVEL]

  --config FILE                 YAML config (modules: as blackbox_exporter, tasks: continuous probes);
                                without it a built-in config probes this daemon's own endpoints
  --config.check                validate the config file and exit (0 valid, 1 not)
  --config.enable-auto-reload   reload the config when its file changes (checked every --config.auto-reload-interval)
  --config.auto-reload-interval SECONDS
                                how often the file is checked (default 30)
  --web.listen-address ADDR     where /metrics and /probe are served (default ${DEFAULT_LISTEN}: IPv4 and IPv6);
                                repeat it to listen on several addresses
  --web.systemd-socket          listen on the sockets systemd passes (LISTEN_FDS) instead
  --web.config.file FILE        TLS and basic auth for every listener (exporter-toolkit format)
  --web.route-prefix PATH       serve every endpoint under PATH (default: the path of --web.external-url)
  --web.external-url URL        the URL sonde is reached at (behind a reverse proxy); "/" redirects there
  --web.enable-diagnostics      serve /debug/pprof/: CPU profile, heap snapshot, runtime stats (off by default;
                                put it behind --web.config.file's basic auth on any shared network)
  --history.limit N             /probe results kept for / and /logs (default ${DEFAULT_HISTORY_LIMIT})
  --tasks.state-file FILE       keep the tasks made through PUT /api/v1/tasks in FILE across restarts
                                (default: not kept)
  --targets.reload-interval SECONDS
                                how often targets_files are checked for changes (default 10; 0: never)
  --log.level LEVEL             ${LOG_LEVELS.join(', ')} (default info)
  --log.format FORMAT           ${LOG_FORMATS.join(' or ')} (default json)
  --version                     print the version and exit
  --probes.max-in-flight N      probes running at once across all tasks (default: scheduler.max_in_flight, 4096)
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
  --workers N                   worker threads for probes whose JavaScript costs CPU (TLS, body rules, DoH);
                                0: every probe on the main thread (default: CPUs available - 1, at least 1,
                                used while eBPF attribution is off; with it on, probes stay on the main
                                thread so that every lost one gets a verdict, unless N is given)
`;

export async function runCommand(argv: string[]): Promise<number> {
  const { flags, lists, positional } = parseArgs(argv, {
    config: { value: true, aliases: ['--config.file'] },
    'config.check': { value: false },
    'config.enable-auto-reload': { value: false },
    'config.auto-reload-interval': { value: true },
    'web.listen-address': { value: true },
    'web.systemd-socket': { value: false },
    'web.config.file': { value: true },
    'web.route-prefix': { value: true },
    'web.external-url': { value: true },
    'history.limit': { value: true },
    'tasks.state-file': { value: true },
    'targets.reload-interval': { value: true },
    'web.enable-diagnostics': { value: false },
    'log.level': { value: true },
    'log.format': { value: true },
    version: { value: false },
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
    workers: { value: true },
    help: { value: false, aliases: ['-h'] },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`sonde ${VERSION}\n`);
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const level = (flags['log.level'] as string | undefined) ?? 'info';
  if (!isLogLevel(level)) throw new UsageError(`--log.level: got ${JSON.stringify(level)}, expected one of ${LOG_LEVELS.join(', ')}`);
  const format = (flags['log.format'] as string | undefined) ?? 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--log.format: got ${JSON.stringify(format)}, expected one of ${LOG_FORMATS.join(', ')}`);
  if (flags['config.check']) return checkConfig(flags.config as string | undefined, flags['web.config.file'] as string | undefined);
  const addresses = lists['web.listen-address'] ?? [DEFAULT_LISTEN];
  let listen: ListenOn[];
  try {
    listen = flags['web.systemd-socket'] ? systemdListenFds().map((fd) => ({ fd })) : addresses.map(parseListenAddress);
  } catch (err) {
    if (err instanceof SystemdSocketError) {
      process.stderr.write(`sonde run: ${err.message}\n`);
      return 1;
    }
    throw new UsageError((err as Error).message);
  }
  if (flags['web.systemd-socket'] && flags['web.external-url'] === undefined) {
    // blackbox refuses this too: no listen address to infer the external URL from.
    throw new UsageError('--web.systemd-socket needs --web.external-url (there is no listen address to infer it from)');
  }
  const web = routePrefixOf(flags['web.external-url'] as string | undefined, flags['web.route-prefix'] as string | undefined, addresses[0]);
  if (typeof web === 'string') throw new UsageError(web);
  // Absent: the config's scheduler.max_in_flight (default 4096) applies.
  const maxInFlight = flags['probes.max-in-flight'] === undefined ? undefined : intFlag(flags['probes.max-in-flight'], '--probes.max-in-flight', 4096, 1, 1_000_000);
  const logger = createLogger(level, format as LogFormat);
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
    webConfigFile: flags['web.config.file'] as string | undefined,
    routePrefix: web.routePrefix,
    externalURL: web.externalURL,
    diagnostics: flags['web.enable-diagnostics'] === true,
    historyLimit: intFlag(flags['history.limit'], '--history.limit', DEFAULT_HISTORY_LIMIT, 0, 1_000_000),
    autoReloadSeconds: flags['config.enable-auto-reload'] ? secondsFlag(flags['config.auto-reload-interval'], '--config.auto-reload-interval', 30) : undefined,
    logger,
    maxInFlight,
    ebpf: !flags['no-ebpf'],
    xdpInterfaces,
    ebpfLimits,
    probeLimits,
    listenerLimits,
    // Unset stays unset: the daemon's default keeps attributed probes on the main thread.
    workers: flags.workers === undefined ? undefined : intFlag(flags.workers, '--workers', defaultWorkers(), 0, 256),
    logFormat: format as LogFormat,
    tasksStateFile: flags['tasks.state-file'] as string | undefined,
    targetsReloadSeconds: flags['targets.reload-interval'] === '0' ? 0 : secondsFlag(flags['targets.reload-interval'], '--targets.reload-interval', DEFAULT_TARGETS_RELOAD_SECONDS),
  });
  try {
    await daemon.start();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof WebTLSError || err instanceof StateFileError) {
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

/** --config.check: blackbox's way to validate the files (`sonde check-config FILE --web.config.file WEB` says the same). */
function checkConfig(file: string | undefined, webFile: string | undefined): number {
  if (file === undefined && webFile === undefined) throw new UsageError('--config.check needs --config FILE or --web.config.file FILE');
  return checkFiles(file, webFile, { ok: (f) => `${f}: ${f === webFile && f !== file ? 'web config' : 'config'} file is ok\n` });
}
