// Turns the RAs received on one interface into the `sonde discover-v6` report: one entry per
// router (its latest valid RA), the SLAAC addresses proposed for each autonomous prefix, and
// the RAs that were rejected with the reason.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { addressBytes } from '../native/ipaddr';
import type { DiscoverOutcome, LinkInfo, NativeAdvert, Preference, ReceivedAdvert } from '../native/ndp';
import { eui64InterfaceId, joinPrefixAndId, linuxStablePrivacyId, secretBytes } from './slaac';

export interface StableSecret {
  /** where the key came from: the sysctl name, or "random" */
  source: string;
  bytes: Uint8Array;
  note: string;
}

export interface PrefixReport {
  prefix: string;
  length: number;
  on_link: boolean;
  autonomous: boolean;
  valid_lifetime: number;
  preferred_lifetime: number;
  /** null when the host forms no address from this prefix; `slaac_skipped` says why */
  slaac: { eui64: string | null; stable_privacy: string | null } | null;
  slaac_skipped?: string;
}

export interface RouterReport {
  address: string;
  lifetime: number;
  preference: Preference;
  hop_limit: number;
  managed: boolean;
  other: boolean;
  home_agent: boolean;
  proxy: boolean;
  reachable_time: number;
  retrans_timer: number;
  mtu: number | null;
  source_lladdr: string | null;
  prefixes: PrefixReport[];
  rdnss: { servers: string[]; lifetime: number }[];
  dnssl: { domains: string[]; lifetime: number }[];
  routes: { prefix: string; length: number; preference: Preference; lifetime: number }[];
  unknown_options: number[];
  ignored_options: number;
  /** RAs received from this router during the run (the fields above are from the latest) */
  adverts: number;
}

export interface DiscoverReport {
  interface: string;
  source: string | null;
  solicitations: number;
  stable_secret: { source: string; note: string };
  routers: RouterReport[];
  rejected: { address: string; hop_limit: number; reason: string }[];
}

function readSysctl(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // EIO: the kernel has no secret set; ENOENT: no such interface
  }
}

/**
 * The RFC 7217 key, looked up as the kernel does (the interface's stable_secret, then the
 * namespace default's); when neither is set the kernel forms no stable address, so a random
 * per-run key shows the shape of the address but not one the host would form.
 */
export function stableSecret(ifname: string, procRoot = '/proc/sys/net/ipv6/conf'): StableSecret {
  for (const scope of [ifname, 'default']) {
    const text = readSysctl(`${procRoot}/${scope}/stable_secret`);
    if (text !== null && text.trim() !== '') {
      return { source: `net.ipv6.conf.${scope}.stable_secret`, bytes: secretBytes(text), note: 'the kernel\'s secret: the address is the one Linux forms with addr_gen_mode=2' };
    }
  }
  return {
    source: 'random',
    bytes: new Uint8Array(randomBytes(16)),
    note: `the kernel has no stable_secret for ${ifname}: a random per-run key was used, so the stable privacy address is only illustrative`,
  };
}

function prefixReport(p: NativeAdvert['prefixes'][number], link: LinkInfo, secret: StableSecret): PrefixReport {
  const base = {
    prefix: p.prefix,
    length: p.length,
    on_link: p.onLink,
    autonomous: p.autonomous,
    valid_lifetime: p.validLifetime,
    preferred_lifetime: p.preferredLifetime,
  };
  // RFC 4862 §5.5.3: not autonomous, link-local, a zero valid lifetime, preferred > valid, or a
  // prefix that does not leave the 64-bit interface identifier (RFC 4291 §2.5.1): no address.
  let skipped: string | null = null;
  if (!p.autonomous) skipped = 'not autonomous (A=0)';
  else if (/^fe[89ab]/i.test(p.prefix)) skipped = 'link-local prefix';
  else if (p.validLifetime === 0) skipped = 'valid lifetime 0';
  else if (p.preferredLifetime > p.validLifetime) skipped = 'preferred lifetime exceeds valid lifetime';
  else if (p.length !== 64) skipped = `prefix length ${p.length} leaves no 64-bit interface identifier`;
  if (skipped !== null) return { ...base, slaac: null, slaac_skipped: skipped };
  const eui = eui64InterfaceId(link.hwAddr, link.devId);
  const stable = linuxStablePrivacyId(addressBytes(p.prefix).bytes, secret.bytes, link.permAddr);
  return {
    ...base,
    slaac: { eui64: eui ? joinPrefixAndId(p.prefix, eui) : null, stable_privacy: stable ? joinPrefixAndId(p.prefix, stable) : null },
  };
}

function routerReport(r: ReceivedAdvert, ra: NativeAdvert, adverts: number, link: LinkInfo, secret: StableSecret): RouterReport {
  return {
    address: r.source,
    lifetime: ra.routerLifetime,
    preference: ra.preference,
    hop_limit: ra.curHopLimit,
    managed: ra.managed,
    other: ra.other,
    home_agent: ra.homeAgent,
    proxy: ra.proxy,
    reachable_time: ra.reachableTime,
    retrans_timer: ra.retransTimer,
    mtu: ra.mtu,
    source_lladdr: ra.sourceLladdr,
    prefixes: ra.prefixes.map((p) => prefixReport(p, link, secret)),
    rdnss: ra.rdnss,
    dnssl: ra.dnssl,
    routes: ra.routes,
    unknown_options: ra.unknownOptions,
    ignored_options: ra.ignoredOptions,
    adverts,
  };
}

export function buildReport(ifname: string, link: LinkInfo, outcome: DiscoverOutcome, secret: StableSecret): DiscoverReport {
  const latest = new Map<string, { r: ReceivedAdvert; ra: NativeAdvert; count: number }>();
  const rejected: DiscoverReport['rejected'] = [];
  for (const r of outcome.received) {
    if (r.ra === null || r.parse !== 'ok') {
      rejected.push({ address: r.source, hop_limit: r.hopLimit, reason: r.parse });
    } else if (r.envelope !== 'ok') {
      rejected.push({ address: r.source, hop_limit: r.hopLimit, reason: r.envelope });
    } else {
      const prev = latest.get(r.source);
      latest.set(r.source, { r, ra: r.ra, count: (prev?.count ?? 0) + 1 });
    }
  }
  return {
    interface: ifname,
    source: outcome.source,
    solicitations: outcome.solicitations,
    stable_secret: { source: secret.source, note: secret.note },
    routers: [...latest.values()].map((x) => routerReport(x.r, x.ra, x.count, link, secret)),
    rejected,
  };
}
