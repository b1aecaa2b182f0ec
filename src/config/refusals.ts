// Keys that load but cannot be honoured. A blackbox.yml must load unchanged, so a key sonde cannot
// honour is not refused by the decoder; instead every use of such a module is refused with the
// reason: a task naming it fails at load (schema_tasks.ts), a probe with it (/probe, `sonde probe`)
// fails with reason "unsupported" (run_probe.ts). Nothing is silently ignored. README lists them.
import type { HTTPClientConfig, Module, TLSConfig } from './types';

function tlsRefusal(t: TLSConfig, at: string): string | undefined {
  for (const k of ['ca_ref', 'cert_ref', 'key_ref'] as const) {
    if (t[k] !== undefined) return `${at}tls_config.${k}: secret references need a secret manager, which blackbox_exporter has not either; use ${k.replace('_ref', '_file')}`;
  }
  return undefined;
}

function clientRefusal(c: HTTPClientConfig, at: string): string | undefined {
  const ref = (key: string, instead: string) => `${at}${key}: secret references need a secret manager, which blackbox_exporter has not either; use ${instead}`;
  if (c.basic_auth?.username_ref !== undefined) return ref('basic_auth.username_ref', 'username_file');
  if (c.basic_auth?.password_ref !== undefined) return ref('basic_auth.password_ref', 'password_file');
  if (c.authorization?.credentials_ref !== undefined) return ref('authorization.credentials_ref', 'credentials_file');
  const o = c.oauth2;
  if (o) {
    if (o.client_secret_ref !== undefined) return ref('oauth2.client_secret_ref', 'client_secret_file');
    const jwt = o.grant_type !== undefined && o.grant_type !== 'client_credentials';
    if (jwt || o.client_certificate_key !== undefined || o.client_certificate_key_file !== undefined || o.client_certificate_key_ref !== undefined) {
      return `${at}oauth2: only the client_credentials grant with a client secret is supported (not the JWT bearer grant)`;
    }
    if (o.proxy_url !== undefined || o.proxy_from_environment) return `${at}oauth2.proxy_url: the token request goes direct; a proxy for it is not supported`;
    const t = tlsRefusal(o.tls_config, `${at}oauth2.`);
    if (t) return t;
  }
  if (c.proxy_url !== undefined && !c.proxy_url.startsWith('http://')) return `${at}proxy_url: only http:// proxies are supported (CONNECT for https:// targets)`;
  return tlsRefusal(c.tls_config, at);
}

/** Why `m` cannot run, naming the key from the module's own path, or undefined when it can. */
export function moduleRefusal(m: Pick<Module, 'prober' | 'http' | 'tcp' | 'icmp' | 'grpc' | 'dns' | 'unix' | 'websocket' | 'trace' | 'tcp_syn'>): string | undefined {
  // sonde's dns_resolver (http, tcp, icmp, trace, tcp_syn) has a tls_config of its own.
  const p = m.prober;
  const resolver = (p === 'http' || p === 'tcp' || p === 'icmp' || p === 'trace' || p === 'tcp_syn') && m[p]?.dns_resolver;
  const r = resolver ? tlsRefusal(resolver.tls_config, `${m.prober}.dns_resolver.`) : undefined;
  return r ?? sectionRefusal(m);
}

function sectionRefusal(m: Parameters<typeof moduleRefusal>[0]): string | undefined {
  switch (m.prober) {
    case 'http':
      if (m.http.enable_http3) return 'http.enable_http3: HTTP/3 needs QUIC, which Node 20 does not have; set enable_http3: false (and enable_http2 as wanted)';
      return clientRefusal(m.http, 'http.');
    case 'tcp':
      return tlsRefusal(m.tcp.tls_config, 'tcp.');
    case 'grpc':
      return tlsRefusal(m.grpc.tls_config, 'grpc.');
    case 'dns':
      return tlsRefusal(m.dns.tls_config, 'dns.');
    case 'unix':
      return m.unix && tlsRefusal(m.unix.tls_config, 'unix.');
    case 'websocket': {
      if (!m.websocket) return undefined;
      const c = m.websocket.http_config;
      if (c.proxy_url !== undefined || c.proxy_from_environment) return 'websocket.http_config.proxy_url: the websocket prober dials directly, as blackbox\'s does';
      // Steps are messages: blackbox's websocket prober reads expect and send only.
      for (const [i, qr] of m.websocket.query_response.entries()) {
        const key = qr.starttls ? 'starttls' : qr.expect_bytes ? 'expect_bytes' : qr.labels.length > 0 ? 'labels' : undefined;
        if (key) return `websocket.query_response[${i}].${key}: a websocket step is a message (expect and send only)`;
      }
      return clientRefusal(m.websocket.http_config, 'websocket.http_config.');
    }
    default:
      return undefined;
  }
}
