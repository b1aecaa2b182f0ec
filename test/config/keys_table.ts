// The vocabulary of the keys table (test/config/keys.test.ts): what a key's line says, the
// sections shared by several probers (tls_config, prometheus/common's HTTP client config), and
// where a section sits in a config.

export interface Section {
  /** a config with `inner` merged in at this section */
  place: (inner: Record<string, unknown>) => unknown;
  keys: Record<string, Use>;
}

export const mod = (prober: string, body: (inner: Record<string, unknown>) => Record<string, unknown>) => (inner: Record<string, unknown>) => ({
  modules: { m: { prober, ...body(inner) } },
});

export type Use =
  /** read by the code named (a behaviour test of that code covers it) */
  | { read: string }
  /** a nested mapping, or a list of them: its keys are a section of their own below */
  | { section: string }
  /** accepted, and it changes nothing in blackbox either in what sonde supports */
  | { noEffect: string }
  /** the module loads, but every use of it fails with this message (config/refusals.ts); `with`: keys it needs beside it */
  | { refusedAtUse: { value: unknown; message: string; with?: Record<string, unknown> } }
  /** the decoder refuses the key with this message */
  | { refused: { value: unknown; message: string } };

export const read = (what: string): Use => ({ read: what });
export const section = (name: string): Use => ({ section: name });
export const refusedHTTP = (value: unknown, why: string): Use => ({ refused: { value, message: `not supported by sonde: ${why}` } });
const NO_SECRET_MANAGER = 'secret references need a secret manager, which blackbox_exporter has not either';
/** A *_ref key: loads, refused at use; `at` is the module path up to the key's parent. */
export const secretRef = (at: string, key: string, instead: string, extra?: Record<string, unknown>): Use => ({
  refusedAtUse: { value: 'vault-name', message: `modules.m.${at}${key}: ${NO_SECRET_MANAGER}; use ${instead}`, with: extra },
});

export const ip = { preferred_ip_protocol: read('probers/resolve.ts: family tried first'), ip_protocol_fallback: read('probers/resolve.ts: the other family') };
/** tls_config's keys; `at` is the module path of the tls_config, ending in "tls_config.". */
export const tlsAt = (at: string): Record<string, Use> => ({
  ca_file: read('TLS trust roots (tcp/tls.ts tlsMaterial, http request_spec.ts)'),
  cert_file: read('client certificate'),
  key_file: read('client key'),
  ca: read('inline PEM (tcp/tls.ts tlsMaterial; test/probers/http_client_auth.test.ts)'),
  cert: read('inline PEM'),
  key: read('inline PEM'),
  server_name: read('SNI and the name verified'),
  insecure_skip_verify: read('rejectUnauthorized'),
  min_version: read('minVersion'),
  max_version: read('maxVersion'),
  ca_ref: secretRef(at, 'ca_ref', 'ca_file'),
  // a client certificate needs its key (and the key its certificate) to load at all
  cert_ref: secretRef(at, 'cert_ref', 'cert_file', { key_file: '/etc/sonde/client.key' }),
  key_ref: secretRef(at, 'key_ref', 'key_file', { cert_file: '/etc/sonde/client.crt' }),
});
export const headerMatch: Record<string, Use> = { header: read('http rules.ts: header name'), regexp: read('http rules.ts'), allow_missing: read('http rules.ts') };
export const rrRead: Record<string, Use> = Object.fromEntries(
  ['fail_if_matches_regexp', 'fail_if_all_match_regexp', 'fail_if_not_matches_regexp', 'fail_if_none_matches_regexp'].map((k) => [k, read('dns validate.ts')]),
);

/** http_headers.<name>: values, secrets, files (prometheus/common Header). */
export const headerValueKeys: Record<string, Use> = { values: read('client_auth.ts extraHeaders'), secrets: read('client_auth.ts extraHeaders'), files: read('client_auth.ts extraHeaders (read per probe)') };
export const wsStep = (key: string, value: unknown): Use => ({ refusedAtUse: { value, message: `modules.m.websocket.query_response[0].${key}: a websocket step is a message (expect and send only)` } });

/** prometheus/common's HTTPClientConfig keys; `at` is the module path before them ("http" or "websocket.http_config"). */
export function clientKeys(at: string, sectionPath: string): Record<string, Use> {
  const ws = at.startsWith('websocket');
  return {
    basic_auth: section(`${sectionPath}.basic_auth`),
    authorization: section(`${sectionPath}.authorization`),
    oauth2: section(`${sectionPath}.oauth2`),
    bearer_token: read('client_auth.ts Authorization header'),
    bearer_token_file: read('client_auth.ts Authorization header'),
    tls_config: section(`${sectionPath}.tls_config`),
    follow_redirects: ws ? { noEffect: 'the websocket dialer follows no redirect, as gorilla\'s in blackbox' } : read('chain.ts'),
    enable_http2: ws ? { noEffect: 'a WebSocket upgrade is HTTP/1.1 (RFC 6455)' } : read('ALPN h2 over TLS (request_spec.ts; test/probers/http_h2.test.ts)'),
    http_headers: section(`${sectionPath}.http_headers.X`),
    proxy_url: ws
      ? { refusedAtUse: { value: 'http://127.0.0.1:3128', message: 'modules.m.websocket.http_config.proxy_url: the websocket prober dials directly, as blackbox\'s does' } }
      : read('http proxy.ts (test/probers/http_proxy.test.ts)'),
    no_proxy: ws ? { noEffect: 'only with proxy_url, refused at use' } : read('http proxy.ts'),
    proxy_from_environment: ws
      ? { refusedAtUse: { value: true, message: 'modules.m.websocket.http_config.proxy_url: the websocket prober dials directly, as blackbox\'s does' } }
      : read('http proxy.ts'),
    proxy_connect_header: ws ? { noEffect: 'only with proxy_url, refused at use' } : read('http proxy.ts: CONNECT request'),
  };
}

/** The nested sections of a client config at `at`; `place(x)` puts x where the client config goes. */
export function clientSections(at: string, place: (inner: (y: Record<string, unknown>) => Record<string, unknown>) => (y: Record<string, unknown>) => unknown): Record<string, Section> {
  const p = `modules.m.${at}`;
  const oauthBase = { token_url: 'http://127.0.0.1:9/token' };
  const out: Record<string, Section> = {
    [`${p}.basic_auth`]: {
      place: place((y) => ({ basic_auth: y })),
      keys: {
        username: read('client_auth.ts'),
        username_file: read('client_auth.ts (read per probe)'),
        password: read('client_auth.ts'),
        password_file: read('client_auth.ts (read per probe)'),
        username_ref: secretRef(`${at}.basic_auth.`, 'username_ref', 'username_file'),
        password_ref: secretRef(`${at}.basic_auth.`, 'password_ref', 'password_file'),
      },
    },
    [`${p}.authorization`]: {
      place: place((y) => ({ authorization: y })),
      keys: {
        type: read('client_auth.ts'),
        credentials: read('client_auth.ts'),
        credentials_file: read('client_auth.ts (read per probe)'),
        credentials_ref: secretRef(`${at}.authorization.`, 'credentials_ref', 'credentials_file'),
      },
    },
    [`${p}.oauth2`]: {
      place: place((y) => ({ oauth2: { ...oauthBase, ...y } })),
      keys: {
        client_id: read('oauth2.ts'),
        client_secret: read('oauth2.ts'),
        client_secret_file: read('oauth2.ts (read per token request)'),
        client_secret_ref: secretRef(`${at}.oauth2.`, 'client_secret_ref', 'client_secret_file'),
        scopes: read('oauth2.ts scope'),
        token_url: read('oauth2.ts'),
        endpoint_params: read('oauth2.ts form'),
        tls_config: section(`${p}.oauth2.tls_config`),
        ...Object.fromEntries(
          ['client_certificate_key_id', 'client_certificate_key', 'client_certificate_key_file', 'client_certificate_key_ref', 'grant_type'].map((k) => [
            k,
            k === 'client_certificate_key_id'
              ? { noEffect: 'the JWT bearer grant only, whose keys are refused at use' }
              : {
                  refusedAtUse: {
                    value: k === 'grant_type' ? 'urn:ietf:params:oauth:grant-type:jwt-bearer' : k.endsWith('_file') ? '/etc/sonde/jwt.key' : 'x',
                    message: `modules.m.${at}.oauth2: only the client_credentials grant with a client secret is supported (not the JWT bearer grant)`,
                  },
                },
          ]),
        ),
        signature_algorithm: { noEffect: 'the JWT bearer grant only, refused at use' },
        iss: { noEffect: 'the JWT bearer grant only, refused at use' },
        audience: { noEffect: 'the JWT bearer grant only, refused at use' },
        claims: { noEffect: 'the JWT bearer grant only, refused at use' },
        proxy_url: { refusedAtUse: { value: 'http://127.0.0.1:3128', message: `modules.m.${at}.oauth2.proxy_url: the token request goes direct; a proxy for it is not supported` } },
        proxy_from_environment: { refusedAtUse: { value: true, message: `modules.m.${at}.oauth2.proxy_url: the token request goes direct; a proxy for it is not supported` } },
        no_proxy: { noEffect: 'only with oauth2.proxy_url, refused at use' },
        proxy_connect_header: { noEffect: 'only with oauth2.proxy_url, refused at use' },
      },
    },
    [`${p}.oauth2.tls_config`]: { place: place((y) => ({ oauth2: { ...oauthBase, tls_config: y } })), keys: tlsAt(`${at}.oauth2.tls_config.`) },
    [`${p}.tls_config`]: { place: place((y) => ({ tls_config: y })), keys: tlsAt(`${at}.tls_config.`) },
    [`${p}.http_headers.X`]: { place: place((y) => ({ http_headers: { 'X-A': y } })), keys: headerValueKeys },
  };
  if (at === 'websocket.http_config') {
    out[`modules.m.websocket.http_config`] = { place: mod('websocket', (x) => ({ websocket: { http_config: x } })), keys: clientKeys(at, 'modules.m.websocket.http_config') };
  }
  return out;
}
