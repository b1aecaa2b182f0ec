// Whether a /probe target passes the config's probe_policy. The target's host and port are read
// as its prober reads them; a name is resolved as the prober will resolve it (same resolver, same
// family preference) and every address it gets is checked, so a name that resolves into a denied
// range is refused. Deny rules win over allow rules; in allow, a matching host name or addresses
// all inside allowed CIDRs admit the target, and a port list, when given, must hold its port.
import { isIP, type BlockList } from 'node:net';
import type { DNSResolverConfig, IpProtocol, Module } from '../config/types';
import { resolverFor } from '../probers/dns/resolver';
import { parseDNSTarget } from '../probers/dns/target';
import { ProbeFailure } from '../probers/errors';
import { bareHost, targetURL } from '../probers/http/request_spec';
import { resolveTarget } from '../probers/resolve';
import { splitHostPort } from '../probers/tcp/probe';
import type { Runtime } from '../runtime';
import { blockList, type PortRange, type ProbePolicy } from './config';

/** Why a target was refused: the label of sonde_probe_denied_total. */
export type DenyReason = 'host_denied' | 'port_denied' | 'address_denied' | 'not_allowed' | 'port_not_allowed' | 'unresolved' | 'unparsable';

export class ProbeDenied extends Error {
  constructor(
    readonly reason: DenyReason,
    message: string,
  ) {
    super(message);
    this.name = 'ProbeDenied';
  }
}

/** The host and port a prober connects to for `target` (port undefined: ICMP and traceroute have none). */
export function targetEndpoint(target: string, module: Module): { host: string; port?: number } {
  switch (module.prober) {
    case 'http': {
      const url = targetURL(target);
      return { host: bareHost(url), port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80 };
    }
    case 'dns': {
      const t = parseDNSTarget(target, module.dns);
      return { host: t.host, port: t.port };
    }
    case 'icmp':
    case 'trace':
      return { host: target.replace(/^\[(.*)\]$/, '$1') };
    default:
      // tcp and every HOST:PORT prober
      return splitHostPort(target);
  }
}

/** `*.example.net` matches any name below example.net, `*` any name; case and a final dot do not count. */
function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p === '*') return true;
  if (p.startsWith('*.')) return h.endsWith(p.slice(1));
  return p === h;
}

function inPorts(ranges: readonly PortRange[], port: number): boolean {
  return ranges.some((r) => port >= r.from && port <= r.to);
}

function inList(list: BlockList, address: string): boolean {
  const a = address.replace(/^::ffff:(?=\d+\.)/i, '');
  return list.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
}

interface Section {
  preferred_ip_protocol?: IpProtocol;
  ip_protocol_fallback?: boolean;
  dns_resolver?: DNSResolverConfig;
}

/** What a check resolved: every address of `host` the probe may use, and that lookup's time and server. */
export interface Checked {
  host: string;
  addresses: string[];
  seconds: number;
  server?: string;
}

export class TargetPolicy {
  private readonly allowNets: BlockList;
  private readonly denyNets: BlockList;

  constructor(readonly policy: ProbePolicy) {
    this.allowNets = blockList(policy.allow.cidrs);
    this.denyNets = blockList(policy.deny.cidrs);
  }

  /**
   * Resolves and checks `target`; throws ProbeDenied with the reason and a sentence for the answer.
   * Returns what the check resolved (a name's addresses), which the probe is then pinned to.
   */
  async check(target: string, module: Module, runtime: Runtime, signal: AbortSignal): Promise<Checked> {
    let ep: { host: string; port?: number };
    try {
      ep = targetEndpoint(target, module);
    } catch (err) {
      if (err instanceof ProbeFailure) throw new ProbeDenied('unparsable', `cannot tell where ${target} goes: ${err.message}`);
      throw err;
    }
    this.checkEndpoint(ep.host, ep.port);
    const resolved = await this.addresses(ep.host, module, runtime, signal);
    this.checkAddresses(ep.host, resolved.addresses);
    return { host: ep.host, ...resolved };
  }

  /** The host name and port rules (no resolution): deny.hosts, deny.ports, allow.ports. */
  checkEndpoint(host: string, port: number | undefined): void {
    const { allow, deny } = this.policy;
    const name = isIP(host) === 0 ? host : undefined;
    const hostDenied = name !== undefined ? deny.hosts.find((p) => hostMatches(p, name)) : undefined;
    if (hostDenied) throw new ProbeDenied('host_denied', `host ${name} matches denied host pattern ${hostDenied}`);
    if (port !== undefined) {
      if (inPorts(deny.ports, port)) throw new ProbeDenied('port_denied', `port ${port} is denied`);
      if (allow.ports.length > 0 && !inPorts(allow.ports, port)) throw new ProbeDenied('port_not_allowed', `port ${port} is not in the allowed ports`);
    }
  }

  /** The address rules for `host` (a name or an IP literal) and what it resolved to. */
  checkAddresses(host: string, addresses: readonly string[]): void {
    const { allow } = this.policy;
    const name = isIP(host) === 0 ? host : undefined;
    for (const a of addresses) {
      if (inList(this.denyNets, a)) throw new ProbeDenied('address_denied', `${name ? `${name} resolves to ${a}, which` : a} is in a denied network`);
    }
    if (allow.hosts.length === 0 && allow.cidrs.length === 0) return;
    if (name !== undefined && allow.hosts.some((p) => hostMatches(p, name))) return;
    const outside = addresses.find((a) => !inList(this.allowNets, a));
    if (allow.cidrs.length > 0 && outside === undefined) return;
    throw new ProbeDenied('not_allowed', `${name ?? host}${outside && name ? ` (${outside})` : ''} is not in the allowed hosts or networks`);
  }

  /** Every address the prober may use: of both families when it may fall back. */
  private async addresses(host: string, module: Module, runtime: Runtime, signal: AbortSignal): Promise<Omit<Checked, 'host'>> {
    if (isIP(host) !== 0) return { addresses: [host], seconds: 0 };
    const s = ((module as unknown as Record<string, Section | undefined>)[module.prober] ?? {}) as Section;
    const preferred = s.preferred_ip_protocol ?? 'ip6';
    const resolver = resolverFor(s.dns_resolver, runtime);
    const families: IpProtocol[] = s.ip_protocol_fallback === false ? [preferred] : [preferred, preferred === 'ip4' ? 'ip6' : 'ip4'];
    const out: string[] = [];
    let seconds = 0;
    let server: string | undefined;
    for (const fam of families) {
      try {
        const r = await resolveTarget(host, fam, false, { signal }, resolver);
        // The probe reports the lookup of the family it uses (the first that answered), as it would have made it.
        if (out.length === 0) ({ seconds, server } = r);
        out.push(...r.addresses);
      } catch (err) {
        if (!(err instanceof ProbeFailure)) throw err;
      }
    }
    if (out.length === 0) throw new ProbeDenied('unresolved', `${host} does not resolve, so its addresses cannot be checked`);
    return { addresses: out, seconds, server };
  }
}
