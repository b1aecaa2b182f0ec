// `sonde probe URL|HOST:PORT[/PATH]|HOST`: one probe, printed as a phase breakdown (like httpstat) or as JSON.
import { ConfigError, loadConfigFile } from '../config/load';
import { builtinConfig } from '../config/builtin';
import type { Config, Module } from '../config/types';
import { silentLogger } from '../log';
import { resultToJSON } from '../outputs/json';
import type { ProbeResult } from '../result';
import { runProbe } from '../schedule/run_probe';
import { UsageError, parseArgs, secondsFlag } from './args';
import { formatResult } from './format';
import { openExplainer } from './explain';
import { Runtime } from '../runtime';
import { notAHost } from './targets';

const HELP = `usage: sonde probe URL|HOST:PORT[/PATH]|HOST [--module NAME] [--config FILE] [--timeout S] [--json] [--explain]

  TARGET          http://... or https://... (http_2xx), HOST:PORT/PATH (taken as http://HOST:PORT/PATH),
                  HOST:PORT (tcp_connect), HOST (icmp); HOST is an IP address or a host name
  --module NAME   module from the config (default: from the target, as above)
  --config FILE   config whose modules: to use (default: the built-in modules)
  --timeout S     probe timeout in seconds (default: the module's, else 10)
  --json          print one JSON object: success, reason, phases (seconds), tls, ...
  --explain       load the eBPF drop tracer and say where a lost probe was lost (attribution)
exit status: 0 success, 1 failed probe, 2 usage or config error
`;

export interface TargetGuess {
  /** the target as the prober takes it (HOST:PORT/PATH becomes http://HOST:PORT/PATH) */
  target: string;
  module: 'http_2xx' | 'tcp_connect' | 'icmp';
  /** said on stderr when the target was rewritten */
  note?: string;
}

/**
 * What a target typed on the command line means: a URL is http, HOST:PORT/PATH is the URL it
 * lacks the scheme of, HOST:PORT tcp, HOST icmp. A host part that is neither an IP address nor a
 * host name is refused here, before any lookup (no DNS round trip for "a b" or "1.2.3.999").
 */
export function guessTarget(target: string): TargetGuess {
  if (/^https?:\/\//i.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new UsageError(`${JSON.stringify(target)} is not a valid URL`);
    }
    const bad = notAHost(url.hostname);
    if (bad) throw new UsageError(`${JSON.stringify(target)}: ${bad}`);
    return { target, module: 'http_2xx' };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) throw new UsageError(`${JSON.stringify(target)}: sonde probe takes http:// and https:// URLs, HOST:PORT (tcp) or HOST (icmp)`);
  const hostPort = /^(\[[^\]]+\]|[^/:\s]+):(\d{1,5})(\/.*)?$/.exec(target);
  if (hostPort) {
    const bad = notAHost(hostPort[1]);
    if (bad) throw new UsageError(bad);
    if (Number(hostPort[2]) < 1 || Number(hostPort[2]) > 65535) throw new UsageError(`${JSON.stringify(target)}: port ${hostPort[2]} is not from 1 to 65535`);
    if (hostPort[3] === undefined) return { target, module: 'tcp_connect' };
    const url = `http://${target}`;
    return { target: url, module: 'http_2xx', note: `taking ${target} as ${url}` };
  }
  const bad = notAHost(target);
  if (bad) throw new UsageError(`${bad}; sonde probe takes a URL, HOST:PORT or HOST`);
  return { target, module: 'icmp' };
}

export async function probeCommand(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, {
    module: { value: true },
    config: { value: true },
    timeout: { value: true },
    json: { value: false },
    explain: { value: false },
    help: { value: false, aliases: ['-h'] },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positional.length !== 1) throw new UsageError('expected exactly one target (URL, HOST:PORT or HOST)');
  const guess = guessTarget(positional[0]);
  let config: Config;
  try {
    config = flags.config ? loadConfigFile(flags.config as string) : builtinConfig('127.0.0.1:9925');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const moduleName = (flags.module as string | undefined) ?? guess.module;
  const module: Module | undefined = config.modules.get(moduleName);
  if (!module) throw new UsageError(`--module: got ${JSON.stringify(moduleName)}, expected one of: ${[...config.modules.keys()].join(', ')}`);
  let target = positional[0];
  if (guess.note) {
    // HOST:PORT/PATH means a URL to an http module; to any other it is a mistake worth naming.
    if (module.prober !== 'http') throw new UsageError(`${JSON.stringify(target)} is no target for the ${module.prober} module ${moduleName}; did you mean ${guess.target}?`);
    target = guess.target;
    process.stderr.write(`sonde probe: ${guess.note}\n`);
  }
  const timeout = secondsFlag(flags.timeout, '--timeout', module.timeout > 0 ? module.timeout : 10);
  const explain = flags.explain ? await openExplainer() : undefined;
  const runtime = new Runtime();
  let result: ProbeResult;
  try {
    result = await runProbe(target, module, { timeoutSeconds: timeout, logger: silentLogger, runtime, flows: explain?.flows });
  } finally {
    runtime.close();
    explain?.close();
  }
  if (flags.json) process.stdout.write(JSON.stringify(resultToJSON(result), null, 2) + '\n');
  else process.stdout.write(formatResult(result, process.stdout.isTTY === true));
  return result.success ? 0 : 1;
}
