// Typed, validated configuration. Field names follow blackbox_exporter's YAML keys one to one
// (snake_case) so that its documentation applies unchanged; sonde-only options are marked.
// Durations are in seconds, sizes in bytes. Every optional field has been defaulted by the loader
// unless it is `?` here.

import type { ProbePolicy } from '../policy/config';

export type IpProtocol = 'ip4' | 'ip6';

export interface TLSConfig {
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
  server_name?: string;
  insecure_skip_verify: boolean;
  /** 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13', as blackbox/Prometheus common config spells them. */
  min_version?: TLSVersionName;
  max_version?: TLSVersionName;
}
export type TLSVersionName = 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13';

export interface BasicAuth {
  username: string;
  password?: string;
  password_file?: string;
}

export interface HeaderMatch {
  header: string;
  regexp: RegExp;
  allow_missing: boolean;
}

export interface HTTPModule {
  /** sonde: the DNS server resolving targets (absent: the system resolver) */
  dns_resolver?: DNSResolverConfig;
  valid_status_codes: number[]; // empty: 2xx
  valid_http_versions: string[]; // e.g. "HTTP/1.1"; empty: any
  method: string;
  headers: Record<string, string>;
  body?: string;
  body_file?: string;
  compression: '' | 'gzip' | 'br' | 'deflate' | 'identity';
  follow_redirects: boolean;
  fail_if_ssl: boolean;
  fail_if_not_ssl: boolean;
  fail_if_body_matches_regexp: RegExp[];
  fail_if_body_not_matches_regexp: RegExp[];
  fail_if_header_matches: HeaderMatch[];
  fail_if_header_not_matches: HeaderMatch[];
  basic_auth?: BasicAuth;
  bearer_token?: string;
  bearer_token_file?: string;
  body_size_limit: number; // 0: no limit
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
  tls_config: TLSConfig;
  enable_http2: boolean;
  /** loads (blackbox 0.23's example has it) but a module with it cannot run: config/refusals.ts */
  proxy_url?: string;
  /** blackbox reads it only with proxy_url, so it changes nothing here */
  skip_resolve_phase_with_proxy: boolean;
  /** sonde: probe every A/AAAA address of the name, one result per address. */
  all_addresses: boolean;
  /** sonde: maximum redirects followed (blackbox uses Go's default of 10). */
  max_redirects: number;
  /** sonde: ask the server to staple an OCSP response. */
  request_ocsp: boolean;
  /** sonde: bytes of the decoded body the body rules read (the rest is read, not kept); > 0. */
  body_rules_window: number;
}

export interface QueryResponse {
  expect?: RegExp;
  send?: string;
  starttls: boolean;
  labels: Array<{ name: string; value: string }>;
}

export interface TCPModule {
  /** sonde: the DNS server resolving targets (absent: the system resolver) */
  dns_resolver?: DNSResolverConfig;
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
  source_ip_address?: string;
  query_response: QueryResponse[];
  tls: boolean;
  tls_config: TLSConfig;
  /** sonde: end a plain connect probe with RST instead of FIN, so the probe host keeps no TIME_WAIT */
  reset_on_close: boolean;
}

export interface ICMPModule {
  /** sonde: the DNS server resolving targets (absent: the system resolver) */
  dns_resolver?: DNSResolverConfig;
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
  source_ip_address?: string;
  payload_size: number;
  dont_fragment: boolean;
  ttl: number; // 0: system default
  /** sonde: SmokePing-style round of N echoes (blackbox sends 1). */
  pings: number;
  /** sonde: seconds between echoes of one round. */
  interval: number;
}

/** sonde: the `trace` prober (path probing, issue 3); no blackbox equivalent. */
export interface TraceModule {
  /** sonde: the DNS server resolving targets (absent: the system resolver) */
  dns_resolver?: DNSResolverConfig;
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
  /** probe packets: ICMP echo, UDP to a high port, or TCP SYN */
  protocol: 'icmp' | 'udp' | 'tcp';
  /** UDP/TCP destination port (UDP: 33434 as traceroute, TCP: 80) */
  port: number;
  first_ttl: number;
  max_ttl: number;
  /** probes per TTL per flow in one probe run (mtr's cycles) */
  rounds: number;
  /** seconds between rounds */
  interval: number;
  /** Paris flows per round: 1 follows one ECMP path; more enumerate parallel next hops */
  flows: number;
  payload_size: number;
}

export interface DNSRRValidator {
  fail_if_matches_regexp: RegExp[];
  fail_if_all_match_regexp: RegExp[];
  fail_if_not_matches_regexp: RegExp[];
  fail_if_none_matches_regexp: RegExp[];
}

/** sonde: the DNS server that resolves a prober's targets instead of the system resolver. */
export interface DNSResolverConfig {
  /** host, host:port or [v6]:port (an IP literal or a hosts-file name: the resolver's own name is not looked up through it) */
  server: string;
  transport: 'udp' | 'tcp' | 'tls' | 'https';
  tls_config: TLSConfig;
  doh_path: string;
}

/** sonde's EDNS0 options of a dns module (absent: no OPT record, as blackbox sends). */
export interface DNSEDNS {
  udp_payload_size: number;
  dnssec_ok: boolean;
  nsid: boolean;
  cookie: boolean;
  /** RFC 7871 client subnet as ADDRESS/PREFIX */
  client_subnet?: string;
}

export interface DNSModule {
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
  source_ip_address?: string;
  transport_protocol: 'udp' | 'tcp';
  dns_over_tls: boolean;
  tls_config: TLSConfig;
  /** sonde: RFC 8484 DNS over HTTPS instead of udp/tcp */
  dns_over_https: boolean;
  doh_method: 'GET' | 'POST';
  doh_path: string;
  /** sonde: DoT offers the last session of the server (TLS resumption), reported per probe */
  tls_resume: boolean;
  /** sonde: a UDP answer with TC set is asked again over TCP */
  tcp_on_truncation: boolean;
  edns?: DNSEDNS;
  /** empty: the target names it (NAME@server) */
  query_name: string;
  query_type: string;
  query_class: string;
  recursion_desired: boolean;
  valid_rcodes: string[];
  validate_answer_rrs: DNSRRValidator;
  validate_authority_rrs: DNSRRValidator;
  validate_additional_rrs: DNSRRValidator;
}

export interface GRPCModule {
  service: string;
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
  tls: boolean;
  tls_config: TLSConfig;
}

/** sonde: the `tcp_syn` prober (port states by SYN half-open scan on the shared engine, issue 9); no blackbox equivalent. */
export interface TCPSynModule {
  /** the DNS server resolving targets (absent: the system resolver) */
  dns_resolver?: DNSResolverConfig;
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
  source_ip_address?: string;
  /** the ports probed, from nmap syntax ("22,80,8000-8100"): sorted, disjoint, inclusive */
  ports: Array<readonly [number, number]>;
  /** extra SYNs to a silent port before it is filtered */
  retries: number;
  /** seconds to wait for answers after the last SYN */
  wait: number;
  /** SYNs per second of one probe */
  rate: number;
  /** the scanner's own source ports (inclusive); absent: the engine's default */
  source_port_range?: readonly [number, number];
  /** true: the probe succeeds only when every port is open; false: when every port has a state */
  fail_if_not_open: boolean;
  /** not a YAML key: the loader copies `scan.allow` here, so each resolved address is checked at probe time */
  scan_allow: string[];
}

/** sonde: the `scan:` section, what `sonde scan` and the tcp_syn prober may reach. */
export interface ScanConfig {
  /** addresses, CIDRs and ranges targets must fall in; default loopback only */
  allow: string[];
  /** addresses, CIDRs and ranges never scanned */
  exclude: string[];
}

/** Each prober's section of a module (modules.<name>.<prober>), by prober name. */
export interface ModuleSections {
  http: HTTPModule;
  tcp: TCPModule;
  icmp: ICMPModule;
  dns: DNSModule;
  grpc: GRPCModule;
  trace: TraceModule;
  tcp_syn: TCPSynModule;
}

/** Every prober a module may name; src/probers/index.ts says which ones sonde runs. */
export type ProberName = keyof ModuleSections;

/** A module: its prober, its timeout, and every prober's section (defaults where the YAML has none). */
export interface Module extends Omit<ModuleSections, 'trace' | 'tcp_syn'> {
  name: string;
  prober: ProberName;
  /** seconds; 0 means "derive from the scrape timeout / task timeout". */
  timeout: number;
  /** always set by the loader; optional so that modules built by hand (tests, built-ins) need not list it */
  trace?: TraceModule;
  /** as trace: always set by the loader */
  tcp_syn?: TCPSynModule;
}

export interface Task {
  name: string;
  module: string; // key into Config.modules
  targets: string[];
  interval: number; // seconds
  timeout: number; // seconds, <= interval
  jitter: number; // seconds of random delay before each run, 0..interval
  /** consecutive successes before a failing task is reported up again */
  success_threshold: number;
  /** consecutive failures before a task is reported down */
  failure_threshold: number;
  labels: Record<string, string>;
  /** per-target series up to this many targets; above it, series are aggregated per task */
  max_target_series: number;
}

export interface Config {
  /** absolute path of the file it came from, or "<built-in>" */
  source: string;
  /** by name: a Map, so that no name ("__proto__", "constructor") reaches an object's prototype */
  modules: Map<string, Module>;
  tasks: Task[];
  /** which targets /probe requests may name (absent: any) */
  probe_policy?: ProbePolicy;
  /** the `scan:` section when the file has one; scanSettings() gives the defaults otherwise */
  scan?: ScanConfig;
}
