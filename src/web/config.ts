// --web.config.file: the exporter-toolkit format that Prometheus exporters share
// (prometheus/exporter-toolkit web/tls_config.go), decoded strictly: TLS for the listener, basic
// auth users with bcrypt hashes, response headers, a rate limit. Relative file names are taken from
// the web config's folder, as the toolkit's SetDirectory does.
import { dirname, resolve as resolvePath } from 'node:path';
import { bool, duration, int, list, oneOf, record, str, struct, shown, type Decoder } from '../config/schema';
import { ConfigError, parseYaml, readConfigText, throwIssues } from '../config/load';
import { TLS_VERSIONS } from '../config/schema_shared';
import type { TLSVersionName } from '../config/types';
import { GO_CIPHERS, GO_CURVES, type GoCipher, type GoCurve } from './tls_names';

export { ConfigError as WebConfigError };

/** client_auth_type values (Go's tls.ClientAuthType names; RequireClientCert is the toolkit's old spelling). */
export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'RequireClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface WebTLS {
  cert: string;
  key: string;
  client_ca: string;
  cert_file: string;
  key_file: string;
  client_ca_file: string;
  client_auth_type: ClientAuthType | '';
  cipher_suites: GoCipher[];
  curve_preferences: GoCurve[];
  min_version: TLSVersionName;
  max_version: TLSVersionName;
  prefer_server_cipher_suites: boolean;
  client_allowed_sans: string[] | null;
}

export interface WebConfig {
  /** the file it was read from (absolute) */
  source: string;
  /** null: plain HTTP (no TLS key of tls_server_config set) */
  tls: WebTLS | null;
  http: { http2: boolean; headers: Record<string, string> };
  /** interval 0: no limit */
  rate_limit: { burst: number; interval: number };
  /** user name → bcrypt hash; empty: no authentication */
  users: Map<string, string>;
}

/**
 * The headers the toolkit lets a web config set, with the values it allows (empty: any value):
 * kept so for consistency across the Prometheus ecosystem (exporter-toolkit web/handler.go).
 */
const EXTRA_HEADERS: Record<string, readonly string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

/** A bcrypt hash as Go's bcrypt.Cost accepts it: version 2, 2a, 2b, 2x or 2y, cost 4 to 31. */
const BCRYPT = /^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const bcryptHash = str({
  check: (s) => {
    const m = BCRYPT.exec(s);
    return m && Number(m[1]) >= 4 && Number(m[1]) <= 31 ? undefined : 'a bcrypt hash ($2y$10$... with a cost from 4 to 31; htpasswd -nBC 10 "" | tr -d \':\\n\' makes one)';
  },
});

/** A header's value, checked against its allowed values once the key is known (the toolkit's validateHeaderConfig). */
const headerValue: Decoder<string> = (node, path, ctx) => {
  const key = path.slice(path.lastIndexOf('.') + 1);
  const allowed = EXTRA_HEADERS[key] ?? [];
  return str({ check: (v) => (allowed.length === 0 || allowed.includes(v) ? undefined : `one of: ${allowed.join(', ')}`) })(node, path, ctx);
};
const headers = record(headerValue, (key, keyNode, path, ctx) => {
  if (Object.hasOwn(EXTRA_HEADERS, key)) return true;
  ctx.report(keyNode, path, `HTTP header ${JSON.stringify(key)} can not be configured (expected one of: ${Object.keys(EXTRA_HEADERS).join(', ')})`);
  return false;
});

const tlsServerConfig = struct<WebTLS>({
  fields: {
    cert: str(),
    key: str(),
    client_ca: str(),
    cert_file: str(),
    key_file: str(),
    client_ca_file: str(),
    client_auth_type: oneOf(CLIENT_AUTH_TYPES),
    cipher_suites: list(oneOf(Object.keys(GO_CIPHERS) as GoCipher[])),
    curve_preferences: list(oneOf(Object.keys(GO_CURVES) as GoCurve[])),
    min_version: oneOf(TLS_VERSIONS),
    max_version: oneOf(TLS_VERSIONS),
    prefer_server_cipher_suites: bool(),
    client_allowed_sans: list(str({ nonEmpty: true })),
  },
  defaults: () => ({
    cert: '',
    key: '',
    client_ca: '',
    cert_file: '',
    key_file: '',
    client_ca_file: '',
    client_auth_type: '',
    cipher_suites: [],
    curve_preferences: [],
    min_version: 'TLS12',
    max_version: 'TLS13',
    prefer_server_cipher_suites: true,
    client_allowed_sans: null,
  }),
  check: (t, f, ctx) => {
    if (!tlsEnabled(t)) return true;
    const problems: Array<[string, string]> = [];
    if (t.cert === '' && t.cert_file === '') problems.push(['cert_file', 'missing one of cert or cert_file']);
    if (t.key === '' && t.key_file === '') problems.push(['key_file', 'missing one of key or key_file']);
    for (const [a, b] of [['cert', 'cert_file'], ['key', 'key_file'], ['client_ca', 'client_ca_file']]) {
      if (f.set.has(a) && f.set.has(b)) problems.push([b, `expected only one of ${a} and ${b}`]);
    }
    const noClientAuth = t.client_auth_type === '' || t.client_auth_type === 'NoClientCert';
    if ((t.client_ca !== '' || t.client_ca_file !== '') && noClientAuth) problems.push(['client_auth_type', "client CA's have been configured without a Client Auth Policy"]);
    if (TLS_VERSIONS.indexOf(t.min_version) > TLS_VERSIONS.indexOf(t.max_version)) problems.push(['max_version', `expected a version not below min_version ${t.min_version}`]);
    for (const [key, message] of problems) {
      const { path, node } = f.at(key);
      ctx.report(node, path, f.set.has(key) ? `got ${shown(node)}, ${message}` : message);
    }
    return problems.length === 0;
  },
});

/** Whether any TLS key is set (the toolkit's TLSConfig.IsEnabled): else the listener is plain HTTP. */
function tlsEnabled(t: WebTLS): boolean {
  return t.cert !== '' || t.key !== '' || t.cert_file !== '' || t.key_file !== '' || t.client_ca !== '' || t.client_ca_file !== '' || t.client_auth_type !== '';
}

interface Top {
  tls_server_config: WebTLS | null;
  http_server_config: WebConfig['http'];
  rate_limit: WebConfig['rate_limit'];
  basic_auth_users: Record<string, string>;
}

const webConfigDecoder = struct<Top>({
  fields: {
    tls_server_config: tlsServerConfig,
    http_server_config: struct<WebConfig['http']>({ fields: { http2: bool(), headers }, defaults: () => ({ http2: true, headers: {} }) }),
    rate_limit: struct<WebConfig['rate_limit']>({ fields: { burst: int(0), interval: duration() }, defaults: () => ({ burst: 0, interval: 0 }) }),
    basic_auth_users: record(bcryptHash),
  },
  defaults: () => ({ tls_server_config: null, http_server_config: { http2: true, headers: {} }, rate_limit: { burst: 0, interval: 0 }, basic_auth_users: {} }),
});

/** Decodes web config text; `file` names it in messages and anchors relative file names. Throws WebConfigError. */
export function parseWebConfig(text: string, file: string): WebConfig {
  const { ctx, root } = parseYaml(text, file);
  const top = webConfigDecoder(root, '', ctx);
  throwIssues(ctx);
  if (!top) throw new ConfigError([{ file, path: '(root)', line: 1, column: 1, message: 'not a web config' }]);
  const dir = dirname(resolvePath(file));
  const tls = top.tls_server_config && tlsEnabled(top.tls_server_config) ? top.tls_server_config : null;
  if (tls) {
    for (const k of ['cert_file', 'key_file', 'client_ca_file'] as const) if (tls[k] !== '') tls[k] = resolvePath(dir, tls[k]);
  }
  return { source: resolvePath(file), tls, http: top.http_server_config, rate_limit: top.rate_limit, users: new Map(Object.entries(top.basic_auth_users)) };
}

/** Reads and decodes a web config file. Throws WebConfigError, also when it cannot be read. */
export function loadWebConfigFile(file: string): WebConfig {
  return parseWebConfig(readConfigText(file), file);
}
