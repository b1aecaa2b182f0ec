// Defaults, taken from blackbox_exporter (config/config.go DefaultModule & co, and the prober code
// where a zero value means "use X"), plus sonde's own options. Fresh objects on every call: the
// loader fills them in place.
import type { BreakerSettings, DNSModule, DNSRRValidator, GRPCModule, HTTPClientConfig, HTTPModule, ICMPModule, ScanConfig, SchedulerSettings, TCPModule, TCPSynModule, Task, TLSConfig, TraceModule, UnixModule, WebsocketModule } from './types';

// Module timeout: blackbox leaves it 0 and uses the scrape timeout (X-Prometheus-Scrape-Timeout-
// Seconds minus a 0.5 s offset). sonde keeps 0 too: /probe derives it the same way and a task uses
// its own timeout (TASK_DEFAULTS below).
export const MODULE_TIMEOUT_DEFAULT = 0;

export function defaultTLS(): TLSConfig {
  return { insecure_skip_verify: false };
}

export function defaultHTTPClient(): HTTPClientConfig {
  // prometheus/common DefaultHTTPClientConfig: follow redirects, HTTP/2 on.
  return { tls_config: defaultTLS(), follow_redirects: true, enable_http2: true, http_headers: {}, proxy_from_environment: false, proxy_connect_header: {} };
}

export function defaultHTTP(): HTTPModule {
  return {
    valid_status_codes: [], // blackbox: empty means any 2xx
    valid_http_versions: [],
    method: 'GET',
    headers: {},
    compression: '',
    ...defaultHTTPClient(), // follow_redirects and enable_http2 true, as prometheus/common
    fail_if_ssl: false,
    fail_if_not_ssl: false,
    fail_if_body_matches_regexp: [],
    fail_if_body_not_matches_regexp: [],
    fail_if_header_matches: [],
    fail_if_header_not_matches: [],
    body_size_limit: 0,
    // blackbox: preferred_ip_protocol "" is treated as ip6, and IPProtocolFallback defaults to true
    preferred_ip_protocol: 'ip6',
    ip_protocol_fallback: true,
    enable_http3: false,
    skip_resolve_phase_with_proxy: false,
    all_addresses: false,
    max_redirects: 10, // Go net/http's limit, which blackbox inherits
    request_ocsp: true,
    // Body rules read this much of the decoded body: enough for any status page, and a bound on
    // what an endless body or a gzip bomb can make sonde hold per probe.
    body_rules_window: 4 * 1024 * 1024,
  };
}

export function defaultTCP(): TCPModule {
  // reset_on_close: a connect-only probe ends with RST, so the probe host keeps no TIME_WAIT socket
  // (and source port) per probe; as kubelet's TCP probes (SO_LINGER 0, kubernetes PR #115143) and
  // EaseProbe (PR #159) do. FIN close stays one option away (docs/config.md).
  return { preferred_ip_protocol: 'ip6', ip_protocol_fallback: true, query_response: [], tls: false, tls_config: defaultTLS(), reset_on_close: true };
}

export function defaultTrace(): TraceModule {
  return {
    preferred_ip_protocol: 'ip6',
    ip_protocol_fallback: true,
    protocol: 'icmp',
    port: 0, // 0: 33434 for UDP (traceroute's base port), 80 for TCP
    first_ttl: 1,
    max_ttl: 30, // traceroute's default
    rounds: 3, // traceroute's 3 queries per hop
    interval: 0.1,
    flows: 1,
    payload_size: 24,
  };
}

export function defaultICMP(): ICMPModule {
  return {
    preferred_ip_protocol: 'ip6',
    ip_protocol_fallback: true,
    payload_size: 0,
    dont_fragment: false,
    ttl: 0, // 0: the kernel's default hop limit
    pings: 1, // blackbox sends one echo per probe
    interval: 1,
  };
}

/** What `sonde scan` and the tcp_syn prober may reach without a `scan:` section: this host's loopback only. */
export const DEFAULT_SCAN_ALLOW: readonly string[] = ['127.0.0.0/8', '::1/128'];

export function defaultScan(): ScanConfig {
  return { allow: [...DEFAULT_SCAN_ALLOW], exclude: [] };
}

export function defaultTCPSyn(): TCPSynModule {
  return {
    preferred_ip_protocol: 'ip6',
    ip_protocol_fallback: true,
    ports: [],
    retries: 1, // nmap -sS sends one retransmission to a silent port by default at -T3
    wait: 1,
    rate: 1000,
    fail_if_not_open: true,
    scan_allow: [...DEFAULT_SCAN_ALLOW],
  };
}

function defaultRRValidator(): DNSRRValidator {
  return { fail_if_matches_regexp: [], fail_if_all_match_regexp: [], fail_if_not_matches_regexp: [], fail_if_none_matches_regexp: [] };
}

export function defaultDNS(): DNSModule {
  return {
    preferred_ip_protocol: 'ip6',
    ip_protocol_fallback: true,
    transport_protocol: 'udp',
    dns_over_tls: false,
    tls_config: defaultTLS(),
    dns_over_https: false,
    doh_method: 'POST',
    doh_path: '/dns-query',
    tcp_on_truncation: true,
    tls_resume: false,
    reuse_connections: false,
    query_name: '',
    query_type: 'ANY', // prober/dns.go: qt := dns.TypeANY when query_type is empty
    query_class: 'IN',
    recursion_desired: true,
    valid_rcodes: ['NOERROR'],
    validate_answer_rrs: defaultRRValidator(),
    validate_authority_rrs: defaultRRValidator(),
    validate_additional_rrs: defaultRRValidator(),
  };
}

export function defaultUnix(): UnixModule {
  return { query_response: [], tls: false, tls_config: defaultTLS() };
}

export function defaultWebsocket(): WebsocketModule {
  // blackbox's DefaultWebsocketProbe: ip6 first with fallback, as the other probers.
  return { http_config: defaultHTTPClient(), headers: {}, query_response: [], preferred_ip_protocol: 'ip6', ip_protocol_fallback: true };
}

export function defaultGRPC(): GRPCModule {
  return { service: '', metadata: {}, preferred_ip_protocol: 'ip6', ip_protocol_fallback: true, tls: false, tls_config: defaultTLS() };
}

/** Task defaults; `timeout` is derived (see TASK_TIMEOUT_CAP) and so is not listed. */
export const TASK_DEFAULTS = {
  interval: 15, // Prometheus' default scrape_interval
  jitter: 0,
  success_threshold: 1,
  failure_threshold: 1,
  max_target_series: 1000,
} as const satisfies Partial<Task>;

/**
 * Scheduler bounds when the config has no `scheduler:` section. No breaker by default: a target
 * that fails keeps its rhythm, as blackbox and Prometheus users expect; a task turns it on.
 */
export const SCHEDULER_DEFAULTS = {
  max_in_flight: 4096,
  max_per_host: 64,
  shed_queue: 100_000,
  shed_lag: 0.2,
  // Native engines (src/native/qos.ts): best_effort holds at most half of an engine's slots, the
  // lower two classes together 80%: a fifth is always left to critical probes and /probe requests.
  engine_best_effort_share: 0.5,
  engine_standard_share: 0.8,
  engine_queue_bound: 8192,
  breaker: { failures: 0, cooldown: 300 },
} as const satisfies SchedulerSettings & { breaker: BreakerSettings };

/** Default task timeout: the module's timeout if set, else 10 s (Prometheus' scrape_timeout), capped at the interval. */
export const TASK_TIMEOUT_CAP = 10;

export function defaultTaskTimeout(moduleTimeout: number, interval: number): number {
  return Math.min(moduleTimeout > 0 ? moduleTimeout : TASK_TIMEOUT_CAP, interval);
}
