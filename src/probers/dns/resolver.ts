// A module's own DNS server as the Resolver of src/probers/resolve.ts (dns_resolver in a prober's
// section); the queries themselves are in resolver_lookup.ts, loaded at the first lookup: every
// prober imports this file, and a daemon whose modules name no DNS server never loads the DNS
// transports (UDP pool, TCP framing, DoT, DoH, dns-packet).
import type { DNSResolverConfig } from '../../config/types';
import type { Runtime } from '../../runtime';
import { lazy } from '../../util/heavy';
import { gated, SYSTEM_RESOLVER, type AddressGate, type Resolver } from '../resolve';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first lookup (see above)
const lookups = lazy(() => require('./resolver_lookup') as typeof import('./resolver_lookup'));
const NO_LOCAL_NAMES = { lookup: () => undefined };

// One Resolver per dns_resolver section (the config object lives as long as its module).
const RESOLVERS = new WeakMap<DNSResolverConfig, WeakMap<Runtime, Resolver>>();

/** The resolver of a prober section: its dns_resolver, else the system resolver; under the probe's gate when it has one. */
export function resolverFor(cfg: DNSResolverConfig | undefined, runtime: Runtime, gate?: AddressGate): Resolver {
  return gated(sectionResolver(cfg, runtime), gate);
}

function sectionResolver(cfg: DNSResolverConfig | undefined, runtime: Runtime): Resolver {
  if (!cfg) return SYSTEM_RESOLVER;
  let byRuntime = RESOLVERS.get(cfg);
  if (!byRuntime) RESOLVERS.set(cfg, (byRuntime = new WeakMap()));
  let r = byRuntime.get(runtime);
  if (!r) {
    r = { name: `${cfg.server} (${cfg.transport})`, local: NO_LOCAL_NAMES, lookup: (host, family, signal) => lookups().lookup(cfg, runtime, host, family, signal) };
    byRuntime.set(runtime, r);
  }
  return r;
}

