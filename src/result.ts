// What a probe returns. Probers fill this in; outputs (metrics, /probe, logs, JSON) read it.
// A failed target is a result with success=false and one reason, never an exception.

/** The closed set of failure reasons. Documented in docs/reasons.md (a test keeps the two in step). */
export const FAILURE_REASONS = {
  dns_nxdomain: 'the name does not exist (NXDOMAIN) or has no address of the wanted family',
  dns_timeout: 'the resolver did not answer in time',
  dns_error: 'the resolver failed (SERVFAIL, refused, malformed answer)',
  dns_rcode: 'the DNS server\'s answer has an rcode not among valid_rcodes',
  dns_truncated: 'the UDP answer was truncated (TC) and no complete answer came over TCP',
  dns_edns_broken: 'the DNS server failed an EDNS query (FORMERR, or silence) and answered the same query without EDNS',
  dns_id_mismatch: 'DNS answers came back, but none with the query\'s id and question',
  dns_malformed: 'the DNS answer is not a well-formed DNS message (see message)',
  dns_validation: 'a dns validate_answer_rrs / validate_authority_rrs / validate_additional_rrs rule failed',
  refused: 'the target refused the connection (TCP RST to SYN, ICMP port unreachable)',
  reset: 'the connection was reset after it was established',
  connect_timeout: 'no answer to the connection attempt before the deadline',
  unreachable: 'no route, or ICMP host/network unreachable',
  network_error: 'another socket-level error (see message)',
  tls_handshake: 'the TLS handshake failed (protocol, cipher or alert)',
  cert_expired: 'a certificate in the chain has expired',
  cert_not_yet_valid: 'a certificate in the chain is not valid yet',
  cert_hostname: 'the certificate does not match the host name',
  cert_untrusted: 'the chain does not lead to a trusted CA',
  ocsp_revoked: 'the stapled OCSP response says the certificate is revoked',
  ssl_required: 'fail_if_not_ssl is set and the final response was not over TLS',
  ssl_forbidden: 'fail_if_ssl is set and the final response was over TLS',
  http_status: 'the status code is not among valid_status_codes',
  http_version: 'the HTTP version is not among valid_http_versions',
  too_many_redirects: 'the redirect chain was longer than allowed, or looped',
  regex_body: 'a fail_if_body_* regular expression rule failed',
  regex_header: 'a fail_if_header_* regular expression rule failed',
  body_too_large: 'the body exceeded body_size_limit',
  cel_body: 'a fail_if_body_json_matches_cel / fail_if_body_json_not_matches_cel rule failed, or the body is not JSON',
  grpc_not_serving: 'the gRPC health check answered, but not SERVING, or with a gRPC error status (see message)',
  websocket_upgrade: 'the server did not upgrade the connection to a WebSocket (see message for its status)',
  expect_mismatch: 'a TCP query_response expect did not match before the connection ended',
  protocol_error: 'the peer sent something that is not valid for the protocol',
  icmp_unreachable: 'an ICMP destination unreachable came back for the probe',
  icmp_time_exceeded: 'an ICMP time exceeded came back (TTL too small, or a loop)',
  packet_loss: 'no reply to some or all ICMP echo requests',
  trace_incomplete: 'a path trace did not reach the target within max_ttl hops (see message for the last hop that answered)',
  timeout: 'the probe did not finish before its timeout',
  cancelled: 'the probe was cancelled before it finished (its /probe client left, or the daemon stopped)',
  shed: "a native engine shed the probe under overload: its QoS class's queue was past scheduler.engine_queue_bound (counted in sonde_probes_shed_total, reason engine)",
  local_resources: 'the probe host ran out of descriptors, buffers or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): see message',
  policy_denied: 'a redirect hop or a name resolved during the probe goes where the probe_policy refuses (see message; counted in sonde_probe_denied_total)',
  config: 'the module cannot be used for this target (see message)',
  unsupported: 'the module asks for what this build cannot do (HTTP/3: Node 20 has no QUIC; *_ref secrets: no secret manager, as in blackbox): see message',
  internal: 'a bug in sonde (see message); please report it',
} as const;

export type FailureReason = keyof typeof FAILURE_REASONS;

export function isFailureReason(s: string): s is FailureReason {
  return Object.prototype.hasOwnProperty.call(FAILURE_REASONS, s);
}

/**
 * What each phase of ProbeResult.phases measures. One meaning whatever carries the probe: the
 * native stream engine (the fast path), Node sockets and undici, or the /probe gateway. The HTTP
 * phases are blackbox_exporter's probe_http_duration_seconds (prober/http.go, from Go's httptrace
 * marks), summed over the redirect hops as blackbox does; a phase that did not happen is 0 or absent.
 */
export const PHASE_MEANINGS = {
  resolve: 'the name lookup (DNSStart -> DNSDone); 0 for an IP literal',
  connect: 'TCP connect started -> connection established (ConnectStart -> ConnectDone)',
  tls: 'TLS handshake started -> done (TLSHandshakeStart -> TLSHandshakeDone); tcp: also STARTTLS upgrades',
  processing:
    'http: the connection ready, after TLS if any (GotConn) -> the first response byte (GotFirstResponseByte): ' +
    'writing the request and the server\'s think time; only once a response began',
  transfer: 'http: the first response byte -> the end of the read, whatever ended it (end of body, a body error, the deadline)',
  dialogue: 'tcp: the query_response exchange after the connection (and its first TLS handshake)',
  setup: 'icmp: checking the source and reaching the echo engine (its socket opens on first use)',
  rtt: 'icmp: the median round trip of the echoes that came back',
  trace: 'trace: every TTL round, first probe sent -> last answer or timeout',
  request: 'dns: the query sent -> its answer read (blackbox\'s request phase: the exchange after the connection)',
  tcp_retry: 'dns: a UDP answer came back truncated (TC) -> the same query answered over TCP (connect included)',
  edns_retry: 'dns: an EDNS query failed (FORMERR or silence) -> the same query without EDNS answered',
  scan: 'tcp_syn: the SYN scan started -> every port has a state (the wait window after the last SYN included)',
} as const;

/** Where a lost probe was lost (issue 4: eBPF attribution). */
export interface Attribution {
  seq?: number;
  /** a SYN scan's silent pair: its address and port */
  address?: string;
  port?: number;
  verdict: 'local_drop' | 'path_loss' | 'unknown';
  reason?: string; // kernel drop reason name, e.g. NETFILTER_DROP
  direction?: 'ingress' | 'egress';
  location?: string; // kernel symbol+offset
  ifindex?: number;
  /** with the XDP observer attached: whether the reply reached the probe interface (before the stack) */
  replyAtNic?: boolean;
}

export interface CertFacts {
  subject: string;
  issuer: string;
  subjectAlternative: string; // comma separated, as blackbox renders it
  serialNumber: string;
  fingerprintSha256: string; // lower-case hex
  notBefore: number; // unix seconds
  notAfter: number; // unix seconds
}

export interface TLSFacts {
  version: string; // "TLS 1.3" as blackbox prints it
  cipher: string; // IANA name, e.g. TLS_AES_128_GCM_SHA256
  /** peer chain as sent (leaf first) */
  chain: CertFacts[];
  /** min notAfter over the verified chains, blackbox's probe_ssl_earliest_cert_expiry */
  earliestExpiry: number;
  /** blackbox's probe_ssl_last_chain_expiry_timestamp_seconds */
  lastChainExpiry: number;
  ocsp?: { status: 'good' | 'revoked' | 'unknown' | 'absent'; nextUpdate?: number; thisUpdate?: number; revokedAt?: number };
}

export interface HTTPHop {
  url: string;
  address?: string;
  statusCode?: number;
  phases: Record<string, number>;
}

export interface HTTPFacts {
  statusCode: number; // 0 when no response
  version: number; // 1.0, 1.1, 2 (0 when no response)
  ssl: boolean; // final response over TLS
  redirects: number;
  contentLength: number; // -1 when unknown, as blackbox
  uncompressedBodyLength: number;
  lastModified?: number; // unix seconds
  failedDueToRegex: boolean;
  /** a CEL body rule failed (blackbox 0.27's probe_failed_due_to_cel) */
  failedDueToCEL?: boolean;
  hops: HTTPHop[];
}

export interface DNSFacts {
  transport: 'udp' | 'tcp' | 'tls' | 'https';
  queryName: string;
  queryType: string;
  /** an answer was read and parsed (blackbox's probe_dns_query_succeeded) */
  querySucceeded: boolean;
  answerRRs: number;
  authorityRRs: number;
  /** the OPT record counts, as in blackbox (miekg keeps it among the additional records) */
  additionalRRs: number;
  /** the SOA serial of the answer, for query_type SOA (blackbox's probe_dns_serial) */
  serial?: number;
  rcode?: number;
  flags?: { aa: boolean; tc: boolean; ra: boolean; ad: boolean; cd: boolean };
  /** the UDP payload size the server advertised in its OPT record */
  ednsPayloadSize?: number;
  /** the ECS scope prefix length the server returned (RFC 7871 section 7.2.1) */
  ecsScope?: number;
  nsid?: string;
  /** the server sent a cookie back (RFC 7873) */
  serverCookie?: boolean;
  /** an RRSIG in the answer or authority section */
  rrsig: boolean;
  /** the EDNS query failed and the query without EDNS answered */
  ednsBroken: boolean;
  /** the UDP answer was truncated and the query was repeated over TCP */
  tcpRetry: boolean;
  /** DoT with tls_resume: whether the server resumed the session offered */
  tlsResumed?: boolean;
  /** reuse_connections: whether the query went on a connection an earlier probe opened */
  connectionReused?: boolean;
  /** DoH: the HTTP version of the response (1.1, 2) */
  httpVersion?: number;
}

export interface TCPFacts {
  expectInfo?: Array<{ labels: Record<string, string> }>;
  failedDueToRegex: boolean;
  /** blackbox 0.28's probe_failed_due_to_bytes (an expect_bytes step got other bytes) */
  failedDueToBytes?: boolean;
}

export interface GRPCFacts {
  /** gRPC status code of the health check call (0: OK), blackbox's probe_grpc_status_code */
  statusCode: number;
  /** HealthCheckResponse.ServingStatus name, when the call answered */
  servingStatus?: string;
  /** the call went over TLS (probe_grpc_ssl) */
  ssl: boolean;
}

export interface WebsocketFacts {
  /** the HTTP status of the upgrade answer (101 when upgraded; 0 without an answer) */
  statusCode: number;
  upgraded: boolean;
  failedDueToRegex: boolean;
}

/** One port of a tcp_syn probe, as the SYN engine reported it (src/native/syn_types.ts ScanHit). */
export interface PortStateFacts {
  port: number;
  state: 'open' | 'closed' | 'filtered';
  /** nmap's reason: syn-ack, reset, no-response, admin-prohibited, ... */
  reason: string;
  icmpCode?: number;
  ttl?: number;
  /** seconds */
  rtt?: number;
}

export interface TCPSynFacts {
  /** every port probed that got a state, in port order (a probe cut short lists fewer) */
  ports: PortStateFacts[];
  open: number;
  closed: number;
  filtered: number;
  /** SYNs sent (retries included), replies validated, and replies that did not validate */
  sent: number;
  validated: number;
  foreign: number;
}

export interface RTTStats {
  min: number;
  median: number;
  mean: number;
  max: number;
  stddev: number;
}

export interface ICMPFacts {
  sent: number;
  received: number;
  duplicates: number;
  loss: number; // 0..1
  rtt?: RTTStats; // seconds; absent when nothing came back
  replyHopLimit?: number;
  rtts: number[]; // seconds of each received reply, in send order
}

/** One TTL of a path trace (issue 3, path probing). */
export interface TraceHop {
  ttl: number;
  /** every address that answered at this TTL, most frequent first; more than one: ECMP (or a path change) */
  addresses: string[];
  multipath: boolean;
  sent: number;
  received: number;
  loss: number; // 0..1
  rtt?: RTTStats; // seconds; absent when nothing came back
  /** seconds: the RTT of the last answer (mtr's Last) */
  last?: number;
  /** this hop lost more than a later one: it forwarded the probes and withheld its own answers (a rate limit), not path loss */
  rateLimited?: boolean;
}

export interface TraceFacts {
  proto: 'icmp' | 'udp' | 'tcp';
  reached: boolean;
  /** TTL first_ttl up to the target (or the last hop that answered, plus one silent hop) */
  hops: TraceHop[];
  /** Paris flows probed per TTL and round (1: a single flow, one ECMP path) */
  flows: number;
  /** FNV-1a 32-bit of the per-TTL address sets: changes when the path does */
  pathHash: number;
}

export interface ProbeResult {
  target: string;
  module: string;
  prober: string;
  success: boolean;
  /** set exactly when success is false */
  reason?: FailureReason;
  /** human detail for logs: the error text, the failing rule */
  message?: string;
  /** unix ms when the probe started */
  startedAt: number;
  /** the probe's timeout (run_probe.ts sets it): blackbox main's probe_timeout_seconds */
  timeoutSeconds?: number;
  durationSeconds: number;
  /** seconds by phase name: see PHASE_MEANINGS */
  phases: Record<string, number>;
  /** resolved address actually probed */
  address?: string;
  /** no lookup was made (http: skip_resolve_phase_with_proxy): no resolve series, as blackbox */
  resolveSkipped?: boolean;
  ipProtocol?: 4 | 6;
  dnsLookupSeconds?: number;
  /** the module's own DNS server that resolved the target (dns_resolver), e.g. "10.0.0.53 (udp)" */
  resolver?: string;
  http?: HTTPFacts;
  tls?: TLSFacts;
  tcp?: TCPFacts;
  grpc?: GRPCFacts;
  websocket?: WebsocketFacts;
  dns?: DNSFacts;
  icmp?: ICMPFacts;
  trace?: TraceFacts;
  tcpSyn?: TCPSynFacts;
  attribution?: Attribution[];
  /** with all_addresses: one result per resolved address (the parent succeeds when all do) */
  perAddress?: ProbeResult[];
}
