// Typed binding of IPv6 router discovery (native/glue/ndp.cc): the RS/RA exchange on a raw
// ICMPv6 socket runs on a libuv worker thread; this module only shapes its results.
import { binding } from './addon';

export type Preference = 'high' | 'medium' | 'low' | 'reserved';

export interface NativePrefix {
  prefix: string;
  length: number;
  onLink: boolean;
  autonomous: boolean;
  validLifetime: number;
  preferredLifetime: number;
}

export interface NativeRoute {
  prefix: string;
  length: number;
  preference: Preference;
  lifetime: number;
}

/** One Router Advertisement as parsed by native/packet/ndp.cc (RFC 4861 §4.2, RFC 4191, RFC 8106). */
export interface NativeAdvert {
  curHopLimit: number;
  managed: boolean;
  other: boolean;
  homeAgent: boolean;
  proxy: boolean;
  preference: Preference;
  routerLifetime: number;
  reachableTime: number;
  retransTimer: number;
  mtu: number | null;
  sourceLladdr: string | null;
  prefixes: NativePrefix[];
  routes: NativeRoute[];
  rdnss: { servers: string[]; lifetime: number }[];
  dnssl: { domains: string[]; lifetime: number }[];
  unknownOptions: number[];
  ignoredOptions: number;
}

export type ParseStatus = 'ok' | 'too_short' | 'not_router_advertisement' | 'bad_code' | 'zero_length_option' | 'truncated_option';
export type EnvelopeStatus = 'ok' | 'source_not_link_local' | 'hop_limit_not_255';

export interface ReceivedAdvert {
  source: string;
  /** -1 when the kernel did not report it */
  hopLimit: number;
  /** milliseconds since the first solicitation */
  atMs: number;
  parse: ParseStatus;
  envelope: EnvelopeStatus;
  ra: NativeAdvert | null;
}

export interface DiscoverOutcome {
  /** set when the exchange itself failed (socket, bind, send): names the step and errno text */
  error: string | null;
  /** link-local address the solicitations came from; null when the interface has none (source ::) */
  source: string | null;
  solicitations: number;
  received: ReceivedAdvert[];
}

export interface LinkInfo {
  index: number;
  /** ARPHRD_* (1 = Ethernet) */
  hwType: number;
  hwAddr: Buffer;
  /** the permanent address (all zeros for devices with a random MAC, such as veth) */
  permAddr: Buffer;
  devId: number;
}

export interface DiscoverOptions {
  index: number;
  /** link-layer address for the source link-layer address option */
  lladdr?: Uint8Array;
  timeoutMs: number;
  resendMs?: number;
  maxSolicitations?: number;
}

const native = binding as {
  ndpLookupLink(name: string): LinkInfo | null;
  ndpParseRouterAdvert(bytes: Uint8Array): { status: ParseStatus; ra: NativeAdvert | null };
  ndpDiscover(options: DiscoverOptions): Promise<DiscoverOutcome>;
};

/** Link facts of an interface in the current network namespace, or null when it does not exist. */
export function lookupLink(name: string): LinkInfo | null {
  return native.ndpLookupLink(name);
}

/** Parses ICMPv6 bytes (type 134 first) with the native parser. */
export function parseRouterAdvert(bytes: Uint8Array): { status: ParseStatus; ra: NativeAdvert | null } {
  return native.ndpParseRouterAdvert(bytes);
}

/** Sends Router Solicitations and collects every RA until the timeout. Needs CAP_NET_RAW. */
export function discoverRouters(options: DiscoverOptions): Promise<DiscoverOutcome> {
  return native.ndpDiscover(options);
}
