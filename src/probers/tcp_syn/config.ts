// The tcp_syn prober's module section (modules.<name>.tcp_syn):
//   tcp_syn:
//     ports: "22,80,443,8000-8100"   # nmap syntax, required
//     retries: 1                     # extra SYNs to a silent port before it is filtered
//     wait: 1s                       # answers awaited after the last SYN
//     rate: 1000                     # SYNs per second of one probe
//     source_port_range: 40000-40999 # the scanner's own source ports (default: the engine's)
//     fail_if_not_open: true         # false: a probe succeeds once every port has a state
import { defaultTCPSyn } from '../../config/defaults';
import { bool, duration, int, scalarText, shown, struct, type Decoder } from '../../config/schema';
import { ipProtocol, sourceIP } from '../../config/schema_shared';
import type { TCPSynModule } from '../../config/types';
import { DualSet } from '../../scan/addrset';
import { parsePorts, PortSyntaxError } from '../../scan/ports';
import type { TargetCheckScope, ModuleSection } from '../descriptor';
import { dnsResolverSection } from '../dns/resolver_config';
import { hostTarget } from '../../config/schema_values';
import { isIP } from 'node:net';

/** Ports a probe may cover: one probe's replies are held until it ends. */
export const MAX_PROBE_PORTS = 65535;

const portList: Decoder<Array<readonly [number, number]>> = (node, path, ctx) => {
  const s = scalarText(node);
  if (s === undefined) {
    ctx.report(node, path, `got ${shown(node)}, expected ports in nmap syntax such as "22,80,8000-8100"`);
    return undefined;
  }
  try {
    return parsePorts(s);
  } catch (err) {
    if (!(err instanceof PortSyntaxError)) throw err;
    ctx.report(node, path, `got ${shown(node)}, expected ports in nmap syntax such as "22,80,8000-8100" (${err.message})`);
    return undefined;
  }
};

const portRange: Decoder<readonly [number, number]> = (node, path, ctx) => {
  const s = scalarText(node);
  const m = s === undefined ? null : /^(\d{1,5})-(\d{1,5})$/.exec(s);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1024 || hi > 65535 || hi < lo) {
    ctx.report(node, path, `got ${shown(node)}, expected a port range LO-HI within 1024-65535`);
    return undefined;
  }
  return [lo, hi] as const;
};

const tcpSynModule = struct<TCPSynModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    dns_resolver: dnsResolverSection,
    source_ip_address: sourceIP,
    ports: portList,
    retries: int(0, 10),
    wait: duration({ positive: true }),
    rate: int(1, 10_000_000),
    source_port_range: portRange,
    fail_if_not_open: bool(),
  },
  defaults: defaultTCPSyn,
  required: ['ports'],
  unsupported: { scan_allow: 'the allow list is the config\'s scan.allow, for every module alike' },
});

export const tcpSynSection: ModuleSection<'tcp_syn'> = {
  decode: tcpSynModule,
  defaults: defaultTCPSyn,
  required: 'tcp_syn.ports: the ports to probe, e.g. "22,80,443"',
};

// One DualSet per allow list: tasks check thousands of targets against the same list.
const ALLOW_SETS = new WeakMap<readonly string[], DualSet>();

export function allowSet(allow: readonly string[]): DualSet {
  let s = ALLOW_SETS.get(allow);
  if (!s) ALLOW_SETS.set(allow, (s = DualSet.from(allow)));
  return s;
}

/** A host, and for an address literal, one inside scan.allow (a name is checked once resolved). */
export function checkTCPSynTarget(target: string, scope?: TargetCheckScope): string | undefined {
  const host = hostTarget(target);
  if (host !== undefined) return host;
  const bare = target.startsWith('[') ? target.slice(1, -1) : target;
  if (scope && isIP(bare) && !allowSet(scope.scanAllow).hasAddress(bare)) return `an address inside scan.allow (${scope.scanAllow.join(', ') || 'none'})`;
  return undefined;
}

