// `sonde discover-v6 IFACE [--timeout S] [--json]`: IPv6 router discovery. Sends Router
// Solicitations to ff02::2 on IFACE (RFC 4861 §6.3.7: up to 3, 4 s apart), listens for Router
// Advertisements until the timeout (every router on the link answers, so it waits the whole
// time), and prints each router with its prefixes, MTU, RDNSS, DNSSL, routes and the SLAAC
// addresses the host would form. Exit 0 when at least one valid RA arrived, 1 when none did
// (or the exchange failed), 2 on usage errors.
import { lookupLink, discoverRouters } from '../native/ndp';
import { buildReport, stableSecret, type DiscoverReport } from '../ndp/report';
import { parseArgs, secondsFlag, UsageError } from './args';

const USAGE = `usage: sonde discover-v6 IFACE [--timeout S] [--json]
  --timeout S  how long to listen for Router Advertisements (default 5 s; solicitations go out
               at 0, 4 and 8 s within it)
  --json       print one JSON object: { interface, routers: [...], rejected: [...] }`;

const DEFAULT_TIMEOUT_S = 5;
const MAX_TIMEOUT_S = 3600;

function lifetime(s: number): string {
  return s === 0xffffffff ? 'infinite' : `${s}s`;
}

export function formatReport(r: DiscoverReport): string {
  const out: string[] = [];
  const src = r.source ?? ':: (no link-local address)';
  out.push(`${r.interface}: ${r.solicitations} solicitation(s) from ${src}, ${r.routers.length} router(s)`);
  for (const rt of r.routers) {
    const flags = [rt.managed ? 'M' : '', rt.other ? 'O' : '', rt.home_agent ? 'H' : '', rt.proxy ? 'P' : ''].join('') || '-';
    out.push(`router ${rt.address}${rt.source_lladdr ? ` (${rt.source_lladdr})` : ''}`);
    out.push(`  lifetime ${rt.lifetime}s  preference ${rt.preference}  hop limit ${rt.hop_limit || 'unspecified'}  flags ${flags}`);
    out.push(`  reachable ${rt.reachable_time}ms  retrans ${rt.retrans_timer}ms  mtu ${rt.mtu ?? '-'}`);
    for (const p of rt.prefixes) {
      const pf = [p.on_link ? 'on-link' : '', p.autonomous ? 'autonomous' : ''].filter(Boolean).join(' ') || 'no flags';
      out.push(`  prefix ${p.prefix}/${p.length}  ${pf}  valid ${lifetime(p.valid_lifetime)}  preferred ${lifetime(p.preferred_lifetime)}`);
      if (p.slaac) {
        out.push(`    slaac eui-64          ${p.slaac.eui64 ?? '- (no 48-bit hardware address)'}`);
        out.push(`    slaac stable privacy  ${p.slaac.stable_privacy ?? '- (every identifier was reserved)'}`);
      } else if (p.slaac_skipped) {
        out.push(`    no slaac: ${p.slaac_skipped}`);
      }
    }
    for (const d of rt.rdnss) out.push(`  rdnss ${d.servers.join(' ')}  lifetime ${lifetime(d.lifetime)}`);
    for (const d of rt.dnssl) out.push(`  dnssl ${d.domains.join(' ')}  lifetime ${lifetime(d.lifetime)}`);
    for (const x of rt.routes) out.push(`  route ${x.prefix}/${x.length}  preference ${x.preference}  lifetime ${lifetime(x.lifetime)}`);
  }
  for (const x of r.rejected) out.push(`rejected RA from ${x.address} (hop limit ${x.hop_limit}): ${x.reason}`);
  out.push(`stable privacy key: ${r.stable_secret.source} (${r.stable_secret.note})`);
  return out.join('\n') + '\n';
}

export async function discoverV6Command(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { timeout: { value: true, aliases: ['-t'] }, json: { value: false }, help: { value: false, aliases: ['-h'] } });
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positional.length !== 1) throw new UsageError(`expected exactly one interface name\n${USAGE}`);
  const ifname = positional[0];
  const timeout = secondsFlag(flags.timeout, '--timeout', DEFAULT_TIMEOUT_S);
  if (timeout > MAX_TIMEOUT_S) throw new UsageError(`--timeout: at most ${MAX_TIMEOUT_S} seconds`);
  const link = lookupLink(ifname);
  if (link === null) throw new UsageError(`unknown interface ${JSON.stringify(ifname)} (not in this network namespace)`);

  const secret = stableSecret(ifname);
  const outcome = await discoverRouters({ index: link.index, lladdr: link.hwAddr, timeoutMs: Math.max(1, Math.round(timeout * 1000)) });
  if (outcome.error !== null) {
    process.stderr.write(`sonde discover-v6: ${ifname}: ${outcome.error}\n`);
    return 1;
  }
  const report = buildReport(ifname, link, outcome, secret);
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  if (report.routers.length === 0 && !flags.json) {
    process.stderr.write(`sonde discover-v6: no valid Router Advertisement on ${ifname} within ${timeout}s\n`);
  }
  return report.routers.length > 0 ? 0 : 1;
}
