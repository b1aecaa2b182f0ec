// The `modules:` section: blackbox_exporter's module format, key for key (CONFIGURATION.md of
// blackbox 0.23 and later, http_client_config and tls_config of prometheus/common inlined as blackbox
// does), plus sonde's own options. Checks and their wording follow blackbox's UnmarshalYAML methods.
import { isIP } from 'node:net';
import type { BasicAuth, DNSModule, DNSRRValidator, GRPCModule, HeaderMatch, HTTPModule, ICMPModule, Module, ProberName, QueryResponse, TCPModule, TLSConfig, TLSVersionName, TraceModule } from './types';
import { defaultDNS, defaultGRPC, defaultHTTP, defaultICMP, defaultTCP, defaultTLS, defaultTrace, MODULE_TIMEOUT_DEFAULT } from './defaults';
import { bool, duration, exclusive, int, list, oneOf, record, regex, shown, str, struct, type Ctx, type Decoder, type Fields } from './schema';
import { labelName, sizeBytes } from './schema_values';

export const PROBER_NAMES = ['http', 'tcp', 'icmp', 'dns', 'grpc', 'trace'] as const satisfies readonly ProberName[];
const TLS_VERSIONS = ['TLS10', 'TLS11', 'TLS12', 'TLS13'] as const satisfies readonly TLSVersionName[];
// Names as github.com/miekg/dns spells them (dns.StringToType / StringToClass / StringToRcode).
const DNS_TYPES = [
  'A', 'NS', 'CNAME', 'SOA', 'PTR', 'HINFO', 'MX', 'TXT', 'RP', 'AFSDB', 'SIG', 'KEY', 'AAAA', 'LOC', 'SRV', 'NAPTR', 'KX',
  'CERT', 'DNAME', 'OPT', 'APL', 'DS', 'SSHFP', 'IPSECKEY', 'RRSIG', 'NSEC', 'DNSKEY', 'DHCID', 'NSEC3', 'NSEC3PARAM', 'TLSA',
  'SMIMEA', 'HIP', 'CDS', 'CDNSKEY', 'OPENPGPKEY', 'CSYNC', 'ZONEMD', 'SVCB', 'HTTPS', 'SPF', 'URI', 'CAA', 'TKEY', 'TSIG',
  'IXFR', 'AXFR', 'ANY',
];
const DNS_CLASSES = ['IN', 'CS', 'CH', 'HS', 'NONE', 'ANY'];
const RCODES = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE',
  'BADSIG', 'BADKEY', 'BADTIME', 'BADMODE', 'BADNAME', 'BADALG', 'BADTRUNC', 'BADCOOKIE',
];
// RFC 9110 §5.6.2: method and field names are tokens.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const ipProtocol = oneOf(['ip4', 'ip6'] as const);
const sourceIP = str({ check: (s) => (isIP(s) ? undefined : 'an IP address') });
const file = str({ nonEmpty: true, expected: 'a file name' });

const tlsConfig = struct<TLSConfig>({
  fields: {
    ca_file: file,
    cert_file: file,
    key_file: file,
    server_name: str(),
    insecure_skip_verify: bool(),
    min_version: oneOf(TLS_VERSIONS),
    max_version: oneOf(TLS_VERSIONS),
  },
  defaults: defaultTLS,
  unsupported: {
    ca: 'inline PEM; use ca_file',
    cert: 'inline PEM; use cert_file',
    key: 'inline PEM; use key_file',
    ca_ref: 'secret references; use ca_file',
    cert_ref: 'secret references; use cert_file',
    key_ref: 'secret references; use key_file',
  },
  check: (t, f, ctx) => {
    let ok = true;
    // prometheus/common TLSConfig.Validate: a client certificate needs its key and vice versa.
    for (const [has, needs] of [['cert_file', 'key_file'], ['key_file', 'cert_file']]) {
      if (f.set.has(has) && !f.set.has(needs)) {
        const { path, node } = f.at(has);
        ctx.report(node, path, `got ${shown(node)}, expected ${needs} to be set too`);
        ok = false;
      }
    }
    if (t.min_version && t.max_version && TLS_VERSIONS.indexOf(t.max_version) < TLS_VERSIONS.indexOf(t.min_version)) {
      const { path, node } = f.at('max_version');
      ctx.report(node, path, `got ${shown(node)}, expected a version not below min_version (${t.min_version})`);
      ok = false;
    }
    return ok;
  },
});

const basicAuth = struct<BasicAuth>({
  fields: { username: str({ nonEmpty: true }), password: str(), password_file: file },
  defaults: () => ({ username: '' }),
  required: ['username'],
  unsupported: { username_file: 'use username', username_ref: 'use username', password_ref: 'use password_file' },
  check: (_v, f, ctx) => exclusive(f, ctx, 'password', 'password_file'),
});

const headerMatch = struct<HeaderMatch>({
  fields: { header: str({ nonEmpty: true, pattern: TOKEN, expected: 'an HTTP header name' }), regexp: regex(), allow_missing: bool() },
  defaults: () => ({ header: '', regexp: /(?:)/, allow_missing: false }),
  required: ['header', 'regexp'],
});

// RFC 9110 §5.5: field values must not contain CR, LF or NUL.
const headerValue = str({ check: (s) => (/[\r\n\0]/.test(s) ? 'a header value without CR, LF or NUL' : undefined) });
const headers = record(headerValue, (key, keyNode, path, ctx) => {
  if (TOKEN.test(key)) return true;
  ctx.report(keyNode, path, `got ${JSON.stringify(key)}, expected an HTTP header name`);
  return false;
});

const proxyURL = str({
  check: (s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'an http:// or https:// proxy URL';
    } catch {
      return 'an http:// or https:// proxy URL';
    }
  },
});

/** blackbox's isCompressionAcceptEncodingValid: the header must accept the configured encoding. */
function acceptsEncoding(encoding: string, acceptEncoding: string): boolean {
  const entries = acceptEncoding.split(',').map((part) => {
    const semi = part.lastIndexOf(';');
    if (semi === -1) return { enc: part.trim(), q: 1 };
    const q = Number(part.slice(semi + 1).trim().replace(/^q=/, ''));
    return { enc: part.slice(0, semi).trim(), q: Number.isFinite(q) ? q : 0 };
  });
  entries.sort((a, b) => b.q - a.q);
  const hit = entries.find((e) => e.enc === encoding || e.enc === '*');
  return hit !== undefined && hit.q > 0;
}

function checkHTTP(h: HTTPModule, f: Fields, ctx: Ctx): boolean {
  let ok = true;
  const no = f.extra.no_follow_redirects;
  if (typeof no === 'boolean') h.follow_redirects = !no; // deprecated inverse, still honoured by blackbox
  if (h.fail_if_ssl && h.fail_if_not_ssl) {
    const { path, node } = f.at('fail_if_not_ssl');
    ctx.report(node, path, 'got true, expected false when fail_if_ssl is true (the probe could never succeed)');
    ok = false;
  }
  ok = exclusive(f, ctx, 'body', 'body_file') && ok;
  ok = exclusive(f, ctx, 'bearer_token', 'bearer_token_file') && ok;
  ok = exclusive(f, ctx, 'follow_redirects', 'no_follow_redirects') && ok;
  // prometheus/common: at most one of basic_auth, oauth2, bearer_token & bearer_token_file.
  ok = exclusive(f, ctx, 'basic_auth', 'bearer_token') && ok;
  ok = exclusive(f, ctx, 'basic_auth', 'bearer_token_file') && ok;
  if (h.compression !== '') {
    const name = Object.keys(h.headers).find((k) => k.toLowerCase() === 'accept-encoding');
    if (name !== undefined && !acceptsEncoding(h.compression, h.headers[name])) {
      const { path, node } = f.at('compression');
      ctx.report(node, path, `got ${shown(node)}, expected an encoding that headers.${name} (${JSON.stringify(h.headers[name])}) accepts`);
      ok = false;
    }
  }
  return ok;
}

const httpModule = struct<HTTPModule>({
  fields: {
    valid_status_codes: list(int(100, 599)),
    valid_http_versions: list(str({ pattern: /^HTTP\/\d(\.\d)?$/, expected: 'an HTTP version like "HTTP/1.1"' })),
    method: str({ pattern: TOKEN, expected: 'an HTTP method (a token, e.g. GET)' }),
    headers,
    body: str(),
    body_file: file,
    compression: oneOf(['', 'gzip', 'br', 'deflate', 'identity'] as const, 'one of: gzip, br, deflate, identity, or ""'),
    follow_redirects: bool(),
    fail_if_ssl: bool(),
    fail_if_not_ssl: bool(),
    fail_if_body_matches_regexp: list(regex()),
    fail_if_body_not_matches_regexp: list(regex()),
    fail_if_header_matches: list(headerMatch),
    fail_if_header_not_matches: list(headerMatch),
    basic_auth: basicAuth,
    bearer_token: str(),
    bearer_token_file: file,
    body_size_limit: sizeBytes,
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    tls_config: tlsConfig,
    enable_http2: bool(),
    proxy_url: proxyURL,
    skip_resolve_phase_with_proxy: bool(),
    all_addresses: bool(),
    max_redirects: int(0, 100),
    request_ocsp: bool(),
  },
  extra: { no_follow_redirects: bool() },
  defaults: defaultHTTP,
  unsupported: {
    oauth2: 'OAuth 2.0 client credentials; use bearer_token or bearer_token_file',
    authorization: 'use bearer_token or basic_auth',
    no_proxy: 'use proxy_url only on modules that need a proxy',
    proxy_from_environment: 'set proxy_url explicitly',
    proxy_connect_header: 'CONNECT headers for the proxy',
    http_headers: 'use headers',
    enable_http1: 'HTTP/1.1 is always enabled',
  },
  check: checkHTTP,
});

const labelPair = struct<{ name: string; value: string }>({
  fields: { name: labelName, value: str() },
  defaults: () => ({ name: '', value: '' }),
  required: ['name', 'value'],
});

const queryResponse = struct<QueryResponse>({
  fields: { expect: regex(), send: str(), starttls: bool(), labels: list(labelPair) },
  defaults: () => ({ starttls: false, labels: [] }),
});

const tcpModule = struct<TCPModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    source_ip_address: sourceIP,
    query_response: list(queryResponse),
    tls: bool(),
    tls_config: tlsConfig,
    reset_on_close: bool(),
  },
  defaults: defaultTCP,
});

const icmpModule = struct<ICMPModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    source_ip_address: sourceIP,
    payload_size: int(0, 65500),
    dont_fragment: bool(),
    ttl: int(0, 255),
    pings: int(1, 1000),
    interval: duration({ positive: true }),
  },
  defaults: defaultICMP,
});

const traceModule = struct<TraceModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    protocol: oneOf(['icmp', 'udp', 'tcp'] as const),
    port: int(0, 65535),
    first_ttl: int(1, 255),
    max_ttl: int(1, 255),
    rounds: int(1, 100),
    interval: duration({ positive: true }),
    flows: int(1, 64),
    payload_size: int(8, 1400),
  },
  defaults: defaultTrace,
  check: (t, f, ctx) => {
    if (t.max_ttl >= t.first_ttl) return true;
    const { path, node } = f.at('max_ttl');
    ctx.report(node, path, `got ${shown(node)}, expected a TTL not below first_ttl (${t.first_ttl})`);
    return false;
  },
});

const regexList = list(regex());
const rrValidator = struct<DNSRRValidator>({
  fields: {
    fail_if_matches_regexp: regexList,
    fail_if_all_match_regexp: regexList,
    fail_if_not_matches_regexp: regexList,
    fail_if_none_matches_regexp: regexList,
  },
  defaults: () => defaultDNS().validate_answer_rrs,
});

const dnsModule = struct<DNSModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    source_ip_address: sourceIP,
    transport_protocol: oneOf(['udp', 'tcp'] as const),
    dns_over_tls: bool(),
    tls_config: tlsConfig,
    query_name: str({ nonEmpty: true }),
    query_type: oneOf(DNS_TYPES, 'a DNS record type like A, AAAA, MX or ANY'),
    query_class: oneOf(DNS_CLASSES),
    recursion_desired: bool(),
    valid_rcodes: list(oneOf(RCODES, 'a DNS rcode like NOERROR or NXDOMAIN')),
    validate_answer_rrs: rrValidator,
    validate_authority_rrs: rrValidator,
    validate_additional_rrs: rrValidator,
  },
  defaults: defaultDNS,
  // blackbox: "query name must be set for DNS module"
  required: ['query_name'],
});

const grpcModule = struct<GRPCModule>({
  fields: { service: str(), preferred_ip_protocol: ipProtocol, ip_protocol_fallback: bool(), tls: bool(), tls_config: tlsConfig },
  defaults: defaultGRPC,
});

type ModuleBody = Omit<Module, 'name'>;
const moduleBody = struct<ModuleBody>({
  fields: {
    prober: oneOf(PROBER_NAMES),
    timeout: duration(),
    http: httpModule,
    tcp: tcpModule,
    icmp: icmpModule,
    dns: dnsModule,
    grpc: grpcModule,
    trace: traceModule,
  },
  defaults: () => ({
    prober: 'http',
    timeout: MODULE_TIMEOUT_DEFAULT,
    http: defaultHTTP(),
    tcp: defaultTCP(),
    icmp: defaultICMP(),
    dns: defaultDNS(),
    grpc: defaultGRPC(),
    trace: defaultTrace(),
  }),
  required: ['prober'],
  check: (m, f, ctx) => {
    // A dns section brings its own required query_name; a dns module without one cannot probe.
    if (m.prober === 'dns' && !f.set.has('dns')) {
      const { path, node } = f.at('dns');
      ctx.report(node, path, 'missing required key (a dns module needs dns.query_name)');
      return false;
    }
    return true;
  },
});

/** One module; `name` is its key under `modules:`. */
export function moduleDecoder(name: string): Decoder<Module> {
  return (node, path, ctx) => {
    const body = moduleBody(node, path, ctx);
    return body && { name, ...body };
  };
}
