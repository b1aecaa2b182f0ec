// The http prober's module section (modules.<name>.http): blackbox_exporter's HTTPProbe keys,
// http_client_config of prometheus/common inlined as blackbox does, plus sonde's own options.
// Checks and their wording follow blackbox's UnmarshalYAML methods.
import { defaultHTTP } from '../../config/defaults';
import { bool, exclusive, int, list, oneOf, record, regex, shown, str, struct, type Ctx, type Fields } from '../../config/schema';
import { file, ipProtocol, tlsConfig } from '../../config/schema_shared';
import { sizeBytes } from '../../config/schema_values';
import type { BasicAuth, HeaderMatch, HTTPModule } from '../../config/types';
import type { ModuleSection } from '../descriptor';
import { dnsResolverSection } from '../dns/resolver_config';

// RFC 9110 §5.6.2: method and field names are tokens.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

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
  if (h.body_rules_window <= 0) {
    const { path, node } = f.at('body_rules_window');
    ctx.report(node, path, `got ${shown(node)}, expected a size above 0 (the bytes of the body that body rules read)`);
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
    dns_resolver: dnsResolverSection,
    tls_config: tlsConfig,
    enable_http2: bool(),
    proxy_url: proxyURL,
    skip_resolve_phase_with_proxy: bool(),
    all_addresses: bool(),
    max_redirects: int(0, 100),
    request_ocsp: bool(),
    body_rules_window: sizeBytes,
  },
  extra: { no_follow_redirects: bool() },
  defaults: defaultHTTP,
  unsupported: {
    oauth2: 'OAuth 2.0 client credentials; use bearer_token or bearer_token_file',
    authorization: 'use bearer_token or basic_auth',
    no_proxy: 'proxies are not supported yet (issue 12); remove the key to probe directly',
    proxy_from_environment: 'proxies are not supported yet (issue 12); remove the key to probe directly',
    proxy_connect_header: 'proxies are not supported yet (issue 12); remove the key to probe directly',
    http_headers: 'use headers',
    enable_http1: 'HTTP/1.1 is always enabled',
  },
  check: checkHTTP,
});

export const httpSection: ModuleSection<'http'> = { decode: httpModule, defaults: defaultHTTP };

/** blackbox's http prober prepends "http://" to a target without a scheme. */
export function checkHTTPTarget(t: string): string | undefined {
  const expected = 'an http:// or https:// URL (or host[:port][/path])';
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(t) ? t : `http://${t}`;
  try {
    const u = new URL(withScheme);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return expected;
    return u.hostname === '' ? expected : undefined;
  } catch {
    return expected;
  }
}
