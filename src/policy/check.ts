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

export class TargetPolicy {
  private readonly allowNets: BlockList;
  private readonly denyNets: BlockList;

  constructor(readonly policy: ProbePolicy) {
    this.allowNets = blockList(policy.allow.cidrs);
    this.denyNets = blockList(policy.deny.cidrs);
  }

  /** Resolves and checks `target`; throws ProbeDenied with the reason and a sentence for the answer. */
  async check(target: string, module: Module, runtime: Runtime, signal: AbortSignal): Promise<void> {
    const { allow, deny } = this.policy;
    let ep: { host: string; port?: number };
    try {
      ep = targetEndpoint(target, module);
    } catch (err) {
      if (err instanceof ProbeFailure) throw new ProbeDenied('unparsable', `cannot tell where ${target} goes: ${err.message}`);
      throw err;
    }
    const name = isIP(ep.host) === 0 ? ep.host : undefined;
    const hostDenied = name !== undefined ? deny.hosts.find((p) => hostMatches(p, name)) : undefined;
    if (hostDenied) throw new ProbeDenied('host_denied', `host ${name} matches denied host pattern ${hostDenied}`);
    if (ep.port !== undefined) {
      if (inPorts(deny.ports, ep.port)) throw new ProbeDenied('port_denied', `port ${ep.port} is denied`);
      if (allow.ports.length > 0 && !inPorts(allow.ports, ep.port)) throw new ProbeDenied('port_not_allowed', `port ${ep.port} is not in the allowed ports`);
    }
    const addresses = await this.addresses(ep.host, module, runtime, signal);
    for (const a of addresses) {
      if (inList(this.denyNets, a)) throw new ProbeDenied('address_denied', `${name ? `${name} resolves to ${a}, which` : a} is in a denied network`);
    }
    if (allow.hosts.length === 0 && allow.cidrs.length === 0) return;
    if (name !== undefined && allow.hosts.some((p) => hostMatches(p, name))) return;
    const outside = addresses.find((a) => !inList(this.allowNets, a));
    if (allow.cidrs.length > 0 && outside === undefined) return;
    throw new ProbeDenied('not_allowed', `${name ?? ep.host}${outside && name ? ` (${outside})` : ''} is not in the allowed hosts or networks`);
  }

  /** Every address the prober may use: of both families when it may fall back. */
  private async addresses(host: string, module: Module, runtime: Runtime, signal: AbortSignal): Promise<string[]> {
    if (isIP(host) !== 0) return [host];
    const s = ((module as unknown as Record<string, Section | undefined>)[module.prober] ?? {}) as Section;
    const preferred = s.preferred_ip_protocol ?? 'ip6';
    const resolver = resolverFor(s.dns_resolver, runtime);
    const families: IpProtocol[] = s.ip_protocol_fallback === false ? [preferred] : [preferred, preferred === 'ip4' ? 'ip6' : 'ip4'];
    const out: string[] = [];
    for (const fam of families) {
      try {
        out.push(...(await resolveTarget(host, fam, false, { signal }, resolver)).addresses);
      } catch (err) {
        if (!(err instanceof ProbeFailure)) throw err;
      }
    }
    if (out.length === 0) throw new ProbeDenied('unresolved', `${host} does not resolve, so its addresses cannot be checked`);
    return out;
  }
}
