// `sonde COMMAND ...`: dispatch to one file per command. Exit codes: 0 ok, 1 failed probe or
// invalid config, 2 usage error.
import { UsageError } from './args';
import { errorLine, flushed } from './output';
import { VERSION } from '../version';

type Command = (argv: string[]) => Promise<number>;

// Commands load lazily so that `sonde check-config` does not start the native engines. One line
// per command, in the order `sonde --help` lists them. require, not import(): a dynamic import()
// starts Node's ESM loader to load these CommonJS files, 5-10 ms of every command's start.
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: { summary: 'run the daemon: tasks on their intervals, /metrics, /probe', load: async () => (require('./run.js') as typeof import('./run.js')).runCommand },
  'check-config': { summary: 'validate a config file and/or a web config file (exit 0 valid, 1 invalid)', load: async () => (require('./check_config.js') as typeof import('./check_config.js')).checkConfigCommand },
  probe: { summary: 'one probe of a URL, HOST:PORT or HOST, with its phases (httpstat-like)', load: async () => (require('./probe.js') as typeof import('./probe.js')).probeCommand },
  ping: { summary: "ICMP echoes to many targets at once (fping's flags)", load: async () => (require('./ping.js') as typeof import('./ping.js')).pingCommand },
  trace: { summary: "Paris traceroute with per-hop loss and RTT (mtr's flags and report)", load: async () => (require('./trace.js') as typeof import('./trace.js')).traceCommand },
  scan: { summary: 'stateless SYN half-open port scan (nmap -p syntax, masscan/zmap rates), --then a prober per open port', load: async () => (require('./scan.js') as typeof import('./scan.js')).scanCommand },
  'dns-health': { summary: 'DNS server battery: UDP, TCP, EDNS compliance, ECS, DO, DoT, DoH; a 0-100 score', load: async () => (require('./dns_health.js') as typeof import('./dns_health.js')).dnsHealthCommand },
  drops: { summary: 'live kernel drops on probe flows (eBPF)', load: async () => (require('./drops.js') as typeof import('./drops.js')).dropsCommand },
  'discover-v6': { summary: 'IPv6 router solicitation: prefixes, routers, MTU, RDNSS, DNSSL, the SLAAC address', load: async () => (require('./discover_v6.js') as typeof import('./discover_v6.js')).discoverV6Command },
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Every command's name (each answers --help with its usage and exit 0). */
export function commandNames(): string[] {
  return Object.keys(COMMANDS);
}

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: sonde COMMAND [FLAGS]\n\ncommands:\n${lines.join('\n')}\n\nsonde COMMAND --help shows a command's flags.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`sonde ${VERSION}\n`);
    return 0;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    process.stderr.write(`sonde: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await cmd.load())(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sonde ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

// A reader that went away (`sonde ping ... | head`) ends the output, not the command with a stack trace.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

/** Exits with `code` once stdout and stderr have drained (a slow pipe reader gets every byte). */
export async function exitAfterFlush(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** A bug or an error no command turned into a message: one line, the stack only with SONDE_DEBUG=1. */
export async function fatal(err: unknown): Promise<never> {
  process.stderr.write(`sonde: ${process.env.SONDE_DEBUG === '1' && err instanceof Error && err.stack ? err.stack : errorLine(err)}\n`);
  return exitAfterFlush(2);
}
