// prometheus/common's HTTPClientConfig (config/http_config.go, v0.67 as blackbox 0.28 vendors it):
// basic_auth, authorization, oauth2, bearer tokens, tls_config, redirects, HTTP/2, proxies and
// http_headers. The http prober inlines it in its section as blackbox does; the websocket prober
// has it under `http_config`. Checks follow HTTPClientConfig.Validate and their wording.
import { isScalar, isSeq } from 'yaml';
import { defaultHTTPClient, defaultTLS } from './defaults';
import { bool, exclusive, list, record, shown, str, struct, type Ctx, type Decoder, type Fields } from './schema';
import { file, tlsConfig } from './schema_shared';
import type { Authorization, BasicAuth, HeaderValues, HTTPClientConfig, OAuth2, ProxyConfig } from './types';

// RFC 9110 §5.6.2: field names are tokens.
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Header names prometheus/common refuses in http_headers (config/headers.go ReservedHeaders). */
const RESERVED_HEADERS = new Set(
  [
    'authorization', 'host', 'content-encoding', 'content-length', 'content-type', 'user-agent', 'connection', 'keep-alive',
    'proxy-authenticate', 'proxy-authorization', 'www-authenticate', 'accept-encoding', 'x-prometheus-remote-write-version',
    'x-prometheus-remote-read-version', 'x-prometheus-scrape-timeout-seconds', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256',
  ],
);

const headerName = (key: string, keyNode: Parameters<Ctx['report']>[0], path: string, ctx: Ctx): boolean => {
  if (TOKEN.test(key)) return true;
  ctx.report(keyNode, path, `got ${JSON.stringify(key)}, expected an HTTP header name`);
  return false;
};

const basicAuth = struct<BasicAuth>({
  fields: { username: str(), username_file: file, username_ref: str(), password: str(), password_file: file, password_ref: str() },
  defaults: () => ({ username: '' }),
  check: (_v, f, ctx) => {
    // prometheus/common: "at most one of basic_auth username, username_file & username_ref must be configured"
    let ok = exclusive(f, ctx, 'username', 'username_file') && exclusive(f, ctx, 'username', 'username_ref') && exclusive(f, ctx, 'username_file', 'username_ref');
    ok = exclusive(f, ctx, 'password', 'password_file') && exclusive(f, ctx, 'password', 'password_ref') && exclusive(f, ctx, 'password_file', 'password_ref') && ok;
    return ok;
  },
});

const authorization = struct<Authorization>({
  fields: { type: str(), credentials: str(), credentials_file: file, credentials_ref: str() },
  defaults: () => ({ type: 'Bearer' }),
  check: (a, f, ctx) => {
    if (a.type === '') a.type = 'Bearer';
    if (a.type.toLowerCase() === 'basic') {
      const { path, node } = f.at('type');
      ctx.report(node, path, `got ${shown(node)}, expected another type (authorization type cannot be set to "basic", use "basic_auth" instead)`);
      return false;
    }
    return exclusive(f, ctx, 'credentials', 'credentials_file') && exclusive(f, ctx, 'credentials', 'credentials_ref') && exclusive(f, ctx, 'credentials_file', 'credentials_ref');
  },
});

const proxyURL = str({
  check: (s) => {
    try {
      const u = new URL(s);
      return ['http:', 'https:', 'socks5:'].includes(u.protocol) ? undefined : 'an http://, https:// or socks5:// proxy URL';
    } catch {
      return 'an http://, https:// or socks5:// proxy URL';
    }
  },
});

/** `Name: [value, ...]` (prometheus/common ProxyHeader); a single string is taken as one value. */
const text = str();
const texts = list(str());
const stringList: Decoder<string[]> = (node, path, ctx) => {
  if (!isScalar(node)) return texts(node, path, ctx);
  const s = text(node, path, ctx);
  return s === undefined ? undefined : [s];
};

const proxyFields = {
  proxy_url: proxyURL,
  no_proxy: str(),
  proxy_from_environment: bool(),
  proxy_connect_header: record(stringList, headerName),
};
const proxyDefaults = (): ProxyConfig => ({ proxy_from_environment: false, proxy_connect_header: {} });

/** ProxyConfig.Validate's rules, in its words. */
function checkProxy(p: ProxyConfig, f: Fields, ctx: Ctx): boolean {
  const fail = (key: string, why: string): false => {
    const { path, node } = f.at(key);
    ctx.report(node, path, `got ${shown(node)}, expected ${why}`);
    return false;
  };
  if (p.no_proxy && !p.proxy_url) return fail('no_proxy', 'proxy_url to be set too (if no_proxy is configured, proxy_url must also be configured)');
  if (p.proxy_from_environment && p.proxy_url) return fail('proxy_url', 'no proxy_url with proxy_from_environment (at most one of proxy_from_environment and proxy_url must be configured)');
  if (p.proxy_from_environment && p.no_proxy) return fail('no_proxy', 'no no_proxy with proxy_from_environment (at most one of proxy_from_environment and no_proxy must be configured)');
  if (Object.keys(p.proxy_connect_header).length > 0 && !p.proxy_url && !p.proxy_from_environment) {
    return fail('proxy_connect_header', 'proxy_url or proxy_from_environment to be set too (if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured)');
  }
  return true;
}

const oauth2 = struct<OAuth2>({
  fields: {
    client_id: str(),
    client_secret: str(),
    client_secret_file: file,
    client_secret_ref: str(),
    client_certificate_key_id: str(),
    client_certificate_key: str(),
    client_certificate_key_file: file,
    client_certificate_key_ref: str(),
    grant_type: str(),
    signature_algorithm: str(),
    iss: str(),
    audience: str(),
    claims: record(str()),
    scopes: list(str()),
    token_url: str({ nonEmpty: true, expected: 'a token URL' }),
    endpoint_params: record(str()),
    tls_config: tlsConfig,
    ...proxyFields,
  },
  defaults: () => ({ client_id: '', scopes: [], token_url: '', endpoint_params: {}, tls_config: defaultTLS(), ...proxyDefaults() }),
  required: ['token_url'],
  check: (o, f, ctx) => {
    const ok = exclusive(f, ctx, 'client_secret', 'client_secret_file') && exclusive(f, ctx, 'client_secret', 'client_secret_ref') && exclusive(f, ctx, 'client_secret_file', 'client_secret_ref');
    return checkProxy(o, f, ctx) && ok;
  },
});

/** `values`, `secrets`, `files`; a plain string (as in blackbox main's websocket example) is one value. */
const headerSpec = struct<HeaderValues>({
  fields: { values: list(str()), secrets: list(str()), files: list(file) },
  defaults: () => ({ values: [], secrets: [], files: [] }),
});
const headerValues: Decoder<HeaderValues> = (node, path, ctx) => {
  if (isScalar(node) || isSeq(node)) {
    const values = stringList(node, path, ctx);
    return values && { values, secrets: [], files: [] };
  }
  return headerSpec(node, path, ctx);
};
export const httpHeaders: Decoder<Record<string, HeaderValues>> = record(headerValues, headerName);
const checkedHTTPHeaders: Decoder<Record<string, HeaderValues>> = record(headerValues, (key, keyNode, path, ctx) => {
  if (!headerName(key, keyNode, path, ctx)) return false;
  if (!RESERVED_HEADERS.has(key.toLowerCase())) return true;
  ctx.report(keyNode, path, `got ${JSON.stringify(key)}, expected a header that is not reserved (setting header ${JSON.stringify(key)} is not allowed)`);
  return false;
});

/** The keys of an HTTPClientConfig, for a struct that inlines it (http) or nests it (websocket). */
export const httpClientFields = {
  basic_auth: basicAuth,
  authorization,
  oauth2,
  bearer_token: str(),
  bearer_token_file: file,
  tls_config: tlsConfig,
  follow_redirects: bool(),
  enable_http2: bool(),
  http_headers: checkedHTTPHeaders,
  ...proxyFields,
};

/** HTTPClientConfig.Validate: one way of authenticating, and the proxy rules. */
export function checkHTTPClient(c: HTTPClientConfig, f: Fields, ctx: Ctx): boolean {
  let ok = true;
  // "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"; authorization too
  const auth = ['basic_auth', 'authorization', 'oauth2', 'bearer_token', 'bearer_token_file'];
  for (let i = 0; i < auth.length; i++) for (let j = i + 1; j < auth.length; j++) ok = exclusive(f, ctx, auth[i], auth[j]) && ok;
  return checkProxy(c, f, ctx) && ok;
}

/** websocket's `http_config`: the same keys nested. */
export const httpClientConfig = struct<HTTPClientConfig>({ fields: httpClientFields, defaults: defaultHTTPClient, check: checkHTTPClient });
