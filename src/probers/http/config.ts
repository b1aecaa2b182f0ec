// The http prober's module section (modules.<name>.http): blackbox_exporter's HTTPProbe keys,
// http_client_config of prometheus/common inlined as blackbox does, plus sonde's own options.
// Checks and their wording follow blackbox's UnmarshalYAML methods.
import { defaultHTTP } from '../../config/defaults';
import { bool, exclusive, int, list, oneOf, record, regex, shown, str, struct, type Ctx, type Fields } from '../../config/schema';
import { checkHTTPClient, httpClientFields, TOKEN } from '../../config/schema_http_client';
import { file, ipProtocol } from '../../config/schema_shared';
import { sizeBytes } from '../../config/schema_values';
import type { HeaderMatch, HTTPModule } from '../../config/types';
import { celRule } from './cel';
import type { ModuleSection } from '../descriptor';
import { dnsResolverSection } from '../dns/resolver_config';

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

/** blackbox 0.28's HTTPProbe.UnmarshalYAML rules on enable_http3, in its words. */
function checkHTTP3(h: HTTPModule, f: Fields, ctx: Ctx): boolean {
  const fail = (key: string, why: string): false => {
    const { path, node } = f.at(key);
    ctx.report(node, path, `got ${shown(node)}, expected ${why}`);
    return false;
  };
  if (!h.enable_http3 && h.valid_http_versions.includes('HTTP/3.0')) {
    return fail('valid_http_versions', 'no HTTP/3.0 unless enable_http3 is true (HTTP/3 cannot be used as a valid HTTP version when enable_http3 is false)');
  }
  if (!h.enable_http3) return true;
  if (h.valid_http_versions.some((v) => v === 'HTTP/2.0' || v === 'HTTP/1.1')) {
    return fail('valid_http_versions', 'only HTTP/3.0 when enable_http3 is true (HTTP/3 and HTTP/2.0/1.1 cannot be used together)');
  }
  if (h.enable_http2) return fail('enable_http3', 'enable_http2 set to false too (when enable_http3 is true, enable_http2 must be set to false)');
  return true;
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
  ok = exclusive(f, ctx, 'follow_redirects', 'no_follow_redirects') && ok;
  ok = checkHTTPClient(h, f, ctx) && ok;
  ok = checkHTTP3(h, f, ctx) && ok;
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
    fail_if_ssl: bool(),
    fail_if_not_ssl: bool(),
    fail_if_body_matches_regexp: list(regex()),
    fail_if_body_not_matches_regexp: list(regex()),
    fail_if_header_matches: list(headerMatch),
    fail_if_header_not_matches: list(headerMatch),
    fail_if_body_json_matches_cel: celRule,
    fail_if_body_json_not_matches_cel: celRule,
    body_size_limit: sizeBytes,
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    dns_resolver: dnsResolverSection,
    ...httpClientFields,
    enable_http3: bool(),
    skip_resolve_phase_with_proxy: bool(),
    all_addresses: bool(),
    max_redirects: int(0, 100),
    request_ocsp: bool(),
    body_rules_window: sizeBytes,
  },
  extra: { no_follow_redirects: bool() },
  defaults: defaultHTTP,
  unsupported: { enable_http1: 'HTTP/1.1 is always enabled' },
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
