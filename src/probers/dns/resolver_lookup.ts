// The lookups of a module's own DNS server (resolver.ts makes the Resolver): A or AAAA queries to
// dns_resolver.server over its transport (a truncated UDP answer asked again over TCP), with every
// name asked of that server (no hosts file: the module said which server answers). Errors carry
// the codes resolve.ts reads from getaddrinfo: ENOTFOUND (NXDOMAIN), ENODATA (no such record),
// ETIMEOUT (no answer), others (SERVFAIL, REFUSED, a broken answer) are dns_error.
import { randomInt } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { defaultDNS } from '../../config/defaults';
import type { DNSResolverConfig } from '../../config/types';
import type { Runtime } from '../../runtime';
import { classifyError } from '../errors';
import { resolveLocal, resolveTarget, SYSTEM_RESOLVER } from '../resolve';
import { dnsTLSOptions } from './tls_context';
import { RCODE_CODES, rcodeName, TYPE_CODES } from './codes';
import { dohExchange } from './doh';
import { udpExchange, type Answer, type Endpoint } from './exchange';
import { streamExchange } from './stream';
import { matcher, udpAnswerLimit } from './query';
import { parseDNSTarget } from './target';
import { udpPoolOf } from './udp_pool';
import { encodeQuery, type Query } from './wire';

// A lookup with no probe signal (none should happen) still ends.
const LOOKUP_CAP_MS = 30_000;

function lookupError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

async function serverEndpoint(cfg: DNSResolverConfig, signal: AbortSignal): Promise<{ ep: Endpoint; host: string }> {
  const dns = { ...defaultDNS(), query_name: '.', dns_over_tls: cfg.transport === 'tls', dns_over_https: cfg.transport === 'https' };
  const t = parseDNSTarget(cfg.server, dns);
  const r = resolveLocal(t.host, 'ip6', true) ?? (await resolveTarget(t.host, 'ip6', true, { signal }, SYSTEM_RESOLVER));
  return { ep: { address: r.addresses[0], port: t.port, family: r.family }, host: t.host };
}

async function ask(cfg: DNSResolverConfig, runtime: Runtime, q: Query, signal: AbortSignal): Promise<Answer> {
  const { ep, host } = await serverEndpoint(cfg, signal);
  const wire = encodeQuery(q);
  const match = matcher(q);
  if (cfg.transport === 'https') return dohExchange(ep, host, { ...defaultDNS(), dns_over_https: true, tls_config: cfg.tls_config, doh_path: cfg.doh_path }, wire, match, signal);
  if (cfg.transport === 'udp') {
    const a = await udpExchange(ep, wire, match, udpAnswerLimit(q), signal, undefined, udpPoolOf(runtime));
    if (!a.msg.tc) return a;
  }
  const tlsOpts = cfg.transport === 'tls' ? await dnsTLSOptions(cfg.tls_config, host) : undefined;
  return streamExchange({ ep, query: wire, match, signal, flows: undefined, tlsOpts });
}

export async function lookup(cfg: DNSResolverConfig, runtime: Runtime, name: string, family: 4 | 6, probeSignal?: AbortSignal): Promise<LookupAddress[]> {
  const type = family === 6 ? TYPE_CODES.AAAA : TYPE_CODES.A;
  const q: Query = { id: randomInt(0, 65536), name, type, qclass: 1, recursionDesired: true };
  const signal = probeSignal ? AbortSignal.any([probeSignal, AbortSignal.timeout(LOOKUP_CAP_MS)]) : AbortSignal.timeout(LOOKUP_CAP_MS);
  let a: Answer;
  try {
    a = await ask(cfg, runtime, q, signal);
  } catch (err) {
    const { reason, message } = classifyError(err);
    if (reason === 'dns_timeout' || reason === 'timeout') throw lookupError('ETIMEOUT', `${cfg.server} did not answer`);
    throw lookupError('EDNSSERVER', `${cfg.server} (${cfg.transport}): ${reason}: ${message}`);
  }
  if (a.msg.rcode === RCODE_CODES.NXDOMAIN) throw lookupError('ENOTFOUND', `${cfg.server}: ${name} does not exist (NXDOMAIN)`);
  if (a.msg.rcode !== RCODE_CODES.NOERROR) throw lookupError('EDNSSERVER', `${cfg.server} answered ${rcodeName(a.msg.rcode)}`);
  // A recursive server answers the CNAME chain and the records at its end: take every address record.
  const addresses = a.msg.answers.filter((rr) => rr.type === type).map((rr) => ({ address: String(rr.data), family }));
  if (addresses.length === 0) throw lookupError('ENODATA', `${cfg.server}: ${name} has no ${family === 6 ? 'AAAA' : 'A'} record`);
  return addresses;
}
