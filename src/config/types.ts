// Typed, validated configuration. Field names follow blackbox_exporter's YAML keys one to one
// (snake_case) so that its documentation applies unchanged; sonde-only options are marked.
// Durations are in seconds, sizes in bytes. Every optional field has been defaulted by the loader
// unless it is `?` here.

import type { ProbePolicy } from '../policy/config';

export type IpProtocol = 'ip4' | 'ip6';

export interface TLSConfig {
  /** inline PEM (prometheus/common's ca, cert, key) */
  ca?: string;
  cert?: string;
  key?: string;
  /** secret references: loaded, refused at probe (blackbox has no secret manager): config/refusals.ts */
  ca_ref?: string;
  cert_ref?: string;
  key_ref?: string;
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
  username_file?: string;
  username_ref?: string;
  password?: string;
  password_file?: string;
  password_ref?: string;
}

/** prometheus/common's Authorization: `type credentials` in the Authorization header. */
export interface Authorization {
  type: string; // "Bearer" when unset
  credentials?: string;
  credentials_file?: string;
  credentials_ref?: string;
}

/** prometheus/common's ProxyConfig, inlined in an HTTP client config and in oauth2. */
export interface ProxyConfig {
  proxy_url?: string;
  /** comma-separated hosts, domains (".example.com" or "example.com"), IPs and CIDRs reached directly */
  no_proxy?: string;
  proxy_from_environment: boolean;
  /** headers sent with CONNECT; values from `proxy_connect_header: {Name: [v, ...]}` */
  proxy_connect_header: Record<string, string[]>;
}

/** prometheus/common's OAuth2 (client credentials; the JWT grant's keys load and are refused at probe). */
export interface OAuth2 extends ProxyConfig {
  client_id: string;
  client_secret?: string;
  client_secret_file?: string;
  client_secret_ref?: string;
  client_certificate_key_id?: string;
  client_certificate_key?: string;
  client_certificate_key_file?: string;
  client_certificate_key_ref?: string;
  grant_type?: string;
  signature_algorithm?: string;
  iss?: string;
  audience?: string;
  claims?: Record<string, string>;
  scopes: string[];
  token_url: string;
  endpoint_params: Record<string, string>;
  tls_config: TLSConfig;
}

/** One header of prometheus/common's http_headers: every value, secret and file's content is sent. */
export interface HeaderValues {
  values: string[];
  secrets: string[];
  files: string[];
}

/** prometheus/common's HTTPClientConfig (inlined in http modules, `http_config` of websocket). */
export interface HTTPClientConfig extends ProxyConfig {
  basic_auth?: BasicAuth;
  authorization?: Authorization;
  oauth2?: OAuth2;
  bearer_token?: string;
  bearer_token_file?: string;
  tls_config: TLSConfig;
  follow_redirects: boolean;
  enable_http2: boolean;
  http_headers: Record<string, HeaderValues>;
}

export interface HeaderMatch {
  header: string;
  regexp: RegExp;
  allow_missing: boolean;
}

export interface HTTPModule extends HTTPClientConfig {
  /** sonde: the DNS server resolving targets (absent: the system resolver) */
  dns_resolver?: DNSResolverConfig;
  valid_status_codes: number[]; // empty: 2xx
  valid_http_versions: string[]; // e.g. "HTTP/1.1"; empty: any
  method: string;
  headers: Record<string, string>;
  body?: string;
  body_file?: string;
  compression: '' | 'gzip' | 'br' | 'deflate' | 'identity';
  fail_if_ssl: boolean;
  fail_if_not_ssl: boolean;
  fail_if_body_matches_regexp: RegExp[];
  fail_if_body_not_matches_regexp: RegExp[];
  fail_if_header_matches: HeaderMatch[];
  fail_if_header_not_matches: HeaderMatch[];
  /** CEL over the JSON body (blackbox 0.27): the probe fails when it is true / not true */
  fail_if_body_json_matches_cel?: CELRule;
  fail_if_body_json_not_matches_cel?: CELRule;
  body_size_limit: number; // 0: no limit
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
  /** HTTP/3 (blackbox 0.28): loads; Node 20 has no QUIC, so a probe with it is refused (config/refusals.ts) */
  enable_http3: boolean;
  /** with proxy_url: the proxy resolves the name, so no resolve phase (as blackbox) */
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

/** A compiled CEL expression over the JSON body, `body` bound to it. */
export interface CELRule {
  expression: string;
  /** evaluates the expression; throws on an evaluation error */
  eval(body: unknown): unknown;
}

export interface QueryResponse {
  expect?: RegExp;
  /** blackbox 0.28: these exact bytes must come next (a `!!binary` value or the string's UTF-8) */
  expect_bytes?: Buffer;
  send?: string;
  /** `send` came from a `!!binary` scalar: its characters are bytes (latin1), not text */
  send_binary?: boolean;
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
  /** sonde: TCP and DoT queries on connections kept between probes of the server (RFC 7766 6.2.1, RFC 7858 3.4) */
  reuse_connections: boolean;
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
  /** sent with the health check (gRPC metadata: lower-case keys, one or more values) */
  metadata: Record<string, string[]>;
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
  tls: boolean;
  tls_config: TLSConfig;
}

/** blackbox main's unix prober: a stream socket path, with the tcp prober's dialogue. */
export interface UnixModule {
  query_response: QueryResponse[];
  tls: boolean;
  tls_config: TLSConfig;
}

/** blackbox main's websocket prober: ws:// or wss:// with a dialogue of messages. */
export interface WebsocketModule {
  http_config: HTTPClientConfig;
  headers: Record<string, HeaderValues>;
  query_response: QueryResponse[];
  preferred_ip_protocol: IpProtocol;
  ip_protocol_fallback: boolean;
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
  unix: UnixModule;
  websocket: WebsocketModule;
  trace: TraceModule;
  tcp_syn: TCPSynModule;
}

/** Every prober a module may name; src/probers/index.ts says which ones sonde runs. */
export type ProberName = keyof ModuleSections;

/** Sections a hand-built module (tests, built-ins) may leave out; the loader always sets them. */
export type OptionalSections = 'trace' | 'tcp_syn' | 'unix' | 'websocket';

/** A module: its prober, its timeout, and every prober's section (defaults where the YAML has none). */
export interface Module extends Omit<ModuleSections, OptionalSections> {
  name: string;
  prober: ProberName;
  /** seconds; 0 means "derive from the scrape timeout / task timeout". */
  timeout: number;
  /** always set by the loader; optional so that modules built by hand (tests, built-ins) need not list it */
  trace?: TraceModule;
  unix?: UnixModule;
  websocket?: WebsocketModule;
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
  /** the tenant owning the task (a key of Config.tenants); undefined: the built-in "default" tenant */
  tenant?: string;
  /** shedding class under overload; undefined: "standard" */
  qos?: QosClass;
  /** paused tasks stay planned (state kept) but run no probe */
  paused?: boolean;
  /**
   * labels per target, parallel to `targets` (file_sd groups: one shared object per group, so a
   * million targets cost a pointer each); undefined: only the task's labels
   */
  target_labels?: (Readonly<Record<string, string>> | undefined)[];
  /** where the task came from: the config file (default) or PUT /api/v1/tasks */
  origin?: 'file' | 'api';
  /** probes of this task in flight at once; undefined: bounded only by the tenant and the scheduler */
  max_concurrency?: number;
  /** per-target circuit breaker; undefined: SCHEDULER_DEFAULTS.breaker */
  breaker?: BreakerSettings;
  /** files the targets came from (file_sd JSON/YAML or one target per line), re-read on change */
  targets_files?: string[];
}

/** A per-target circuit breaker: open after `failures` in a row, probed every `backoff` s while open, half-open after `cooldown` s. */
export interface BreakerSettings {
  /** consecutive failed probes that open it; 0: no breaker */
  failures: number;
  /** seconds open before one probe is let through (half-open) */
  cooldown: number;
}

/** The `scheduler:` section: bounds shared by every task (SCHEDULER_DEFAULTS in defaults.ts). */
export interface SchedulerSettings {
  /** probes in flight at once, all tasks together (the --max-in-flight flag overrides it) */
  max_in_flight: number;
  /** probes in flight at once to one destination host, whatever task or tenant sends them */
  max_per_host: number;
  /** overload: this many runs due and waiting for a slot */
  shed_queue: number;
  /** overload: event-loop lag (p99 over the last second) past this many seconds */
  shed_lag: number;
  /** of each native engine's slots (stream engine, ICMP table), held by best_effort probes at most */
  engine_best_effort_share: number;
  /** of each native engine's slots, held by standard and best_effort probes together at most */
  engine_standard_share: number;
  /** standard or best_effort probes waiting in one native engine past which new ones are shed */
  engine_queue_bound: number;
}

/** Shedding classes, most important first: under overload best_effort goes first, critical never. */
export const QOS_CLASSES = ['critical', 'standard', 'best_effort'] as const;
export type QosClass = (typeof QOS_CLASSES)[number];

/** A tenant (`tenants:`): the tasks it owns share these bounds; one over them never slows another. */
export interface Tenant {
  name: string;
  /** probes of its tasks in flight at once */
  max_concurrency: number;
  /** probes of its tasks started per second (a token bucket, burst one second's worth) */
  max_probes_per_second: number;
}

export interface Config {
  /** absolute path of the file it came from, or "<built-in>" */
  source: string;
  /** by name: a Map, so that no name ("__proto__", "constructor") reaches an object's prototype */
  modules: Map<string, Module>;
  tasks: Task[];
  /** `tenants:` by name; absent or empty: every task is the unbounded "default" tenant's */
  tenants?: Map<string, Tenant>;
  /** the `scheduler:` section; absent: SCHEDULER_DEFAULTS */
  scheduler?: SchedulerSettings;
  /** which targets /probe requests may name (absent: any) */
  probe_policy?: ProbePolicy;
  /** the `scan:` section when the file has one; scanSettings() gives the defaults otherwise */
  scan?: ScanConfig;
}
