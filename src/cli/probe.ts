// `sonde probe URL|HOST:PORT`: one probe, printed as a phase breakdown (like httpstat) or as JSON.
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

const HELP = `usage: sonde probe URL|HOST:PORT|HOST [--module NAME] [--config FILE] [--timeout S] [--json]

  --module NAME   module from the config (default: http_2xx for URLs, tcp_connect for HOST:PORT, icmp for a bare host)
  --config FILE   config whose modules: to use (default: the built-in modules)
  --timeout S     probe timeout in seconds (default: the module's, else 10)
  --json          print one JSON object: success, reason, phases (seconds), tls, ...
  --explain       load the eBPF drop tracer and say where a lost probe was lost (attribution)
exit status: 0 success, 1 failed probe, 2 usage or config error
`;

function defaultModule(target: string): string {
  if (/^https?:\/\//i.test(target)) return 'http_2xx';
  if (/^(\[[^\]]+\]|[^:]+):\d+$/.test(target)) return 'tcp_connect';
  return 'icmp';
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
  const target = positional[0];
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
  const moduleName = (flags.module as string | undefined) ?? defaultModule(target);
  const module: Module | undefined = config.modules.get(moduleName);
  if (!module) throw new UsageError(`--module: got ${JSON.stringify(moduleName)}, expected one of: ${[...config.modules.keys()].join(', ')}`);
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
