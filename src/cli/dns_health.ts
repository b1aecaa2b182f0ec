// `sonde dns-health SERVER... [--name NAME] [--type TYPE] [--json] ...`: a one-shot battery per DNS
// server (src/probers/dns/battery.ts): UDP, TCP, EDNS compliance, ECS, DO, and DoT / DoH unless
// --no-encrypted; printed as a table per server with its 0-100 health score (formula in README).
// Exit 0 when every server answered the plain queries, 1 otherwise, 2 on usage errors.
import { defaultTLS } from '../config/defaults';
import { TYPE_CODES } from '../probers/dns/codes';
import { runBattery, type ServerHealth } from '../probers/dns/battery';
import { checkDNSTarget } from '../probers/dns/target';
import { Runtime } from '../runtime';
import { intFlag, parseArgs, secondsFlag, UsageError } from './args';

const USAGE = `usage: sonde dns-health SERVER... [--name NAME] [--type TYPE] [--timeout S] [--no-encrypted] [--dot-port N] [--doh-port N] [--ca-file FILE] [--insecure] [--json]
  SERVER           host, host:port or [v6]:port of a DNS server (port 53)
  --name NAME      the name asked (default ".")
  --type TYPE      its type (default SOA)
  --timeout S      seconds each check waits (default 2)
  --no-encrypted   skip the DoT and DoH checks
  --dot-port N     DoT port (default 853)
  --doh-port N     DoH port (default 443; path /dns-query, POST)
  --ca-file FILE   CA certificates for DoT and DoH (default: the system's)
  --insecure       do not verify the DoT / DoH certificate
  --json           print an array with one object per server`;

const SPEC = {
  name: { value: true },
  type: { value: true },
  timeout: { value: true },
  'no-encrypted': { value: false },
  'dot-port': { value: true },
  'doh-port': { value: true },
  'ca-file': { value: true },
  insecure: { value: false },
  json: { value: false },
  help: { value: false, aliases: ['-h'] },
};

function table(h: ServerHealth): string {
  const rows = h.checks.map((c) => [c.check, c.ok ? 'ok' : 'FAIL', c.seconds === undefined ? '-' : `${(c.seconds * 1000).toFixed(1)}ms`, c.detail]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), ['check', 'result', 'time'][i].length));
  const line = (r: string[]) => `  ${r.slice(0, 3).map((x, i) => x.padEnd(widths[i])).join('  ')}  ${r[3]}`;
  const head = `${h.server}${h.address && h.address !== h.server ? ` (${h.address})` : ''}  score ${h.score}/100`;
  const extra = [h.ecsScope !== undefined ? `ECS scope /${h.ecsScope}` : 'no ECS', h.ad ? 'AD set' : 'AD not set'].join(', ');
  return [head, line(['check', 'result', 'time', 'detail']), ...rows.map(line), `  ${extra}`].join('\n');
}

export async function dnsHealthCommand(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, SPEC);
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positional.length === 0) throw new UsageError(`at least one SERVER is needed\n${USAGE}`);
  for (const s of positional) {
    const problem = checkDNSTarget(s);
    if (problem || s.includes('@')) throw new UsageError(`${s}: expected a DNS server as host, host:port or [v6]:port`);
  }
  const type = typeof flags.type === 'string' ? flags.type.toUpperCase() : 'SOA';
  if (TYPE_CODES[type] === undefined) throw new UsageError(`--type: unknown record type ${type}`);
  const tls = { ...defaultTLS(), insecure_skip_verify: flags.insecure === true, ca_file: typeof flags['ca-file'] === 'string' ? flags['ca-file'] : undefined };
  const runtime = new Runtime();
  const opts = {
    name: typeof flags.name === 'string' ? flags.name : '.',
    type,
    timeoutSeconds: secondsFlag(flags.timeout, '--timeout', 2),
    encrypted: flags['no-encrypted'] !== true,
    dotPort: intFlag(flags['dot-port'], '--dot-port', 853, 1, 65535),
    dohPort: intFlag(flags['doh-port'], '--doh-port', 443, 1, 65535),
    tls,
    runtime,
  };
  const results = await Promise.all(positional.map((s) => runBattery(s, opts)));
  if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(`${results.map(table).join('\n\n')}\n`);
  const plainOK = results.every((h) => h.checks.some((c) => (c.check === 'udp' || c.check === 'tcp') && c.ok));
  return plainOK ? 0 : 1;
}
