// Name resolution as blackbox_exporter's chooseProtocol does it with Go's resolver: IP literals,
// then the hosts file and the localhost names (hosts_file.ts) without any DNS query, then the
// system resolver (getaddrinfo: search domains and nsswitch as configured) for the preferred
// family, falling back to the other one when allowed; the lookup is timed as the "resolve" phase.
import { promises as dns, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { IpProtocol } from '../config/types';
import { ProbeFailure } from './errors';
import { SYSTEM_NAMES, type LocalNames } from './hosts_file';

export interface Resolved {
  /** addresses of the chosen family, in resolver order */
  addresses: string[];
  family: 4 | 6;
  seconds: number;
  /** the DNS server that answered, for a module's own resolver (dns_resolver); absent: system or local */
  server?: string;
}

/** What resolution reads: names answered locally, and the system resolver for one family. */
export interface Resolver {
  /** the server it asks, as results report it (a module's dns_resolver); absent: the system resolver */
  name?: string;
  local: LocalNames;
  lookup(host: string, family: 4 | 6, signal?: AbortSignal): Promise<LookupAddress[]>;
  /** what every answer must pass before a probe uses it (the /probe policy); absent: none */
  gate?: AddressGate;
}

/**
 * The /probe policy's hold on a probe's resolution (src/policy/gate.ts). A name it checked before
 * the probe is answered with the very addresses it checked (no second lookup, so a DNS server that
 * changes its answer cannot slip a denied address in: rebinding); any other answer (a redirect's
 * host) is checked before the probe connects to it.
 */
export interface AddressGate {
  /** the addresses (of every family the probe may use) `host` had when the policy checked it */
  pinned(host: string): { addresses: readonly string[]; seconds: number; server?: string } | undefined;
  /** throws ProbeFailure('policy_denied') when the policy refuses `addresses` as `host`'s */
  check(host: string, addresses: readonly string[]): void;
}

/** `resolver` under `gate` (the same object without one). */
export function gated(resolver: Resolver, gate: AddressGate | undefined): Resolver {
  return gate ? { ...resolver, gate } : resolver;
}

export const SYSTEM_RESOLVER: Resolver = {
  local: SYSTEM_NAMES,
  lookup: (host, family) => dns.lookup(host, { family, all: true, verbatim: true }),
};

// glibc waits at least one second (RES_MINWAIT) before it gives up on a server that does not
// answer; an EAI_AGAIN sooner than that is a server that answered with a failure (SERVFAIL,
// REFUSED) or a port that refused the query, not a timeout.
const RESOLVER_MIN_WAIT_MS = 1000;

function familyOf(p: IpProtocol): 4 | 6 {
  return p === 'ip6' ? 6 : 4;
}

function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The addresses of the preferred family, else (with fallback) of the other one, from a list that
 * holds both (a hosts file entry, the localhost names); undefined when none fits.
 */
function pickFamily(addresses: readonly string[], preferred: 4 | 6, fallback: boolean): { addresses: string[]; family: 4 | 6 } | undefined {
  const of = (fam: 4 | 6) => addresses.filter((a) => isIP(a) === fam);
  const first = of(preferred);
  if (first.length > 0) return { addresses: first, family: preferred };
  if (!fallback) return undefined;
  const other = preferred === 4 ? 6 : 4;
  const second = of(other);
  return second.length > 0 ? { addresses: second, family: other } : undefined;
}

/**
 * An IP literal (brackets allowed for IPv6), a hosts-file name or a localhost name, answered
 * without a promise and without a DNS query: the http prober's continuous path stays synchronous
 * up to the engine's submit. undefined: a name for the resolver.
 */
export function resolveLocal(host: string, preferred: IpProtocol, fallback: boolean, from: Pick<Resolver, 'local' | 'gate'> = SYSTEM_RESOLVER): Resolved | undefined {
  if (from.gate) return gatedLocal(host, preferred, fallback, from.local, from.gate);
  return localAnswer(host, preferred, fallback, from.local);
}

/** resolveLocal under a gate: a pinned name as the policy saw it, a local answer once checked. */
function gatedLocal(host: string, preferred: IpProtocol, fallback: boolean, local: LocalNames, gate: AddressGate): Resolved | undefined {
  const bare = bareHost(host);
  const pin = gate.pinned(bare);
  if (pin) {
    const picked = pickFamily(pin.addresses, familyOf(preferred), fallback);
    if (picked === undefined) throw new ProbeFailure('dns_nxdomain', `${bare} has no IPv${familyOf(preferred)} address and preferred_ip_protocol is ${preferred} without fallback`);
    return { ...picked, seconds: pin.seconds, server: pin.server };
  }
  const r = localAnswer(host, preferred, fallback, local);
  if (r) gate.check(bare, r.addresses);
  return r;
}

function localAnswer(host: string, preferred: IpProtocol, fallback: boolean, local: LocalNames): Resolved | undefined {
  const start = performance.now();
  const bare = bareHost(host);
  const literal = isIP(bare) as 0 | 4 | 6;
  if (literal) {
    // The hot path of continuous probes: no arrays beyond the answer.
    if (literal !== familyOf(preferred) && !fallback) {
      throw new ProbeFailure('dns_nxdomain', `${bare} is an IPv${literal} address but preferred_ip_protocol is ${preferred} without fallback`);
    }
    return { addresses: [bare], family: literal, seconds: (performance.now() - start) / 1000 };
  }
  const listed = local.lookup(bare);
  if (listed === undefined) return undefined;
  const picked = pickFamily(listed, familyOf(preferred), fallback);
  if (picked === undefined) {
    throw new ProbeFailure('dns_nxdomain', `${bare} has no IPv${familyOf(preferred)} address in the hosts file and preferred_ip_protocol is ${preferred} without fallback`);
  }
  return { ...picked, seconds: (performance.now() - start) / 1000 };
}

/** One family's lookup: addresses, or none (the name or the record does not exist), or a failure. */
type Attempt = { addresses: string[] } | { failure: ProbeFailure };

async function lookupFamily(host: string, family: 4 | 6, resolver: Resolver, signal: AbortSignal): Promise<Attempt> {
  // The deadline ends the probe whatever the resolver is doing: getaddrinfo cannot be cancelled.
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(new ProbeFailure('dns_timeout', `resolving ${host} did not finish before the deadline`));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const start = performance.now();
  try {
    const res = await Promise.race([resolver.lookup(host, family, signal), aborted]);
    return { addresses: res.map((r) => r.address) };
  } catch (err) {
    if (err instanceof ProbeFailure) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { addresses: [] };
    const message = `resolving ${host} (IPv${family}): ${(err as Error).message}`;
    // ETIMEOUT: a module's own resolver (src/probers/dns/resolver.ts) that got no answer.
    if (code === 'ETIMEOUT' || (code === 'EAI_AGAIN' && performance.now() - start >= RESOLVER_MIN_WAIT_MS)) {
      return { failure: new ProbeFailure('dns_timeout', `${message} (no answer from the DNS servers)`) };
    }
    return { failure: new ProbeFailure('dns_error', message) };
  } finally {
    aborted.catch(() => undefined);
  }
}

/**
 * Resolves `host` (a name or an IP literal, brackets allowed for IPv6). `abort` is an AbortController
 * or a ProbeContext: its signal is read only for a lookup, so a local answer makes no signal (run_probe.ts).
 * With fallback, any failure of the preferred family (not only "no such record") tries the other
 * one; the reason reported when both fail is the first failure, or dns_nxdomain when neither exists.
 */
export async function resolveTarget(
  host: string,
  preferred: IpProtocol,
  fallback: boolean,
  abort: { readonly signal: AbortSignal },
  resolver: Resolver = SYSTEM_RESOLVER,
): Promise<Resolved> {
  const start = performance.now();
  const local = resolveLocal(host, preferred, fallback, resolver);
  if (local) return local;
  const bare = bareHost(host);
  const families: (4 | 6)[] = [familyOf(preferred)];
  if (fallback) families.push(families[0] === 4 ? 6 : 4);
  const failures: ProbeFailure[] = [];
  for (const family of families) {
    const attempt = await lookupFamily(bare, family, resolver, abort.signal);
    if ('failure' in attempt) failures.push(attempt.failure);
    else if (attempt.addresses.length > 0) {
      resolver.gate?.check(bare, attempt.addresses);
      return { addresses: attempt.addresses, family, seconds: (performance.now() - start) / 1000, server: resolver.name };
    }
  }
  if (failures.length > 0) throw new ProbeFailure(failures[0].reason, failures.map((f) => f.message).join('; '));
  throw new ProbeFailure('dns_nxdomain', `${bare} has no ${fallback ? 'IPv4 or IPv6' : `IPv${families[0]}`} address`);
}

/**
 * resolveTarget for a probe: records the address, family, resolver and lookup time on `result`
 * (probe_dns_lookup_time_seconds is set even when the lookup fails, as blackbox sets it) and the
 * resolve phase. For probers whose resolution is all of blackbox's chooseProtocol (grpc, websocket).
 */
export async function resolveForProbe(
  host: string,
  preferred: IpProtocol,
  fallback: boolean,
  abort: { readonly signal: AbortSignal },
  resolver: Resolver,
  result: { address?: string; ipProtocol?: 4 | 6; resolver?: string; dnsLookupSeconds?: number; phases: Record<string, number> },
): Promise<Resolved> {
  const start = performance.now();
  try {
    const r = await resolveTarget(host, preferred, fallback, abort, resolver);
    result.address = r.addresses[0];
    result.ipProtocol = r.family;
    result.resolver = r.server;
    return r;
  } finally {
    result.dnsLookupSeconds = (performance.now() - start) / 1000;
    result.phases.resolve = result.dnsLookupSeconds;
  }
}
