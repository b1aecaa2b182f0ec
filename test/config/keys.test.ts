// Every config key is read or refused. The table below says, for each key the decoders accept,
// what reads it or why it is refused; the test asks the decoders themselves for their keys (an
// unknown key makes a decoder list the keys it knows), so a key added to a decoder without a line
// here fails, and so does a line for a key the decoders no longer have. Refused keys are loaded and
// must fail with their message; keys whose module loads but cannot run must fail every use.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { ConfigError, loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { runProbe } from '../../src/schedule/run_probe';
import { NOT_YET_AVAILABLE, proberFor } from '../../src/probers/index';
import { testRuntime } from '../runtime';

type Use =
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

const read = (what: string): Use => ({ read: what });
const section = (name: string): Use => ({ section: name });
const refusedHTTP = (value: unknown, why: string): Use => ({ refused: { value, message: `not supported by sonde: ${why}` } });
const NO_SECRET_MANAGER = 'secret references need a secret manager, which blackbox_exporter has not either';
/** A *_ref key: loads, refused at use; `at` is the module path up to the key's parent. */
const secretRef = (at: string, key: string, instead: string, extra?: Record<string, unknown>): Use => ({
  refusedAtUse: { value: 'vault-name', message: `modules.m.${at}${key}: ${NO_SECRET_MANAGER}; use ${instead}`, with: extra },
});

const ip = { preferred_ip_protocol: read('probers/resolve.ts: family tried first'), ip_protocol_fallback: read('probers/resolve.ts: the other family') };
/** tls_config's keys; `at` is the module path of the tls_config, ending in "tls_config.". */
const tlsAt = (at: string): Record<string, Use> => ({
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
const headerMatch: Record<string, Use> = { header: read('http rules.ts: header name'), regexp: read('http rules.ts'), allow_missing: read('http rules.ts') };
const rrRead: Record<string, Use> = Object.fromEntries(
  ['fail_if_matches_regexp', 'fail_if_all_match_regexp', 'fail_if_not_matches_regexp', 'fail_if_none_matches_regexp'].map((k) => [k, read('dns validate.ts')]),
);

/** http_headers.<name>: values, secrets, files (prometheus/common Header). */
const headerValueKeys: Record<string, Use> = { values: read('client_auth.ts extraHeaders'), secrets: read('client_auth.ts extraHeaders'), files: read('client_auth.ts extraHeaders (read per probe)') };
const wsStep = (key: string, value: unknown): Use => ({ refusedAtUse: { value, message: `modules.m.websocket.query_response[0].${key}: a websocket step is a message (expect and send only)` } });

/** prometheus/common's HTTPClientConfig keys; `at` is the module path before them ("http" or "websocket.http_config"). */
function clientKeys(at: string, sectionPath: string): Record<string, Use> {
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
function clientSections(at: string, place: (inner: (y: Record<string, unknown>) => Record<string, unknown>) => (y: Record<string, unknown>) => unknown): Record<string, Section> {
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

interface Section {
  /** a config with `inner` merged in at this section */
  place: (inner: Record<string, unknown>) => unknown;
  keys: Record<string, Use>;
}

const mod = (prober: string, body: (inner: Record<string, unknown>) => Record<string, unknown>) => (inner: Record<string, unknown>) => ({
  modules: { m: { prober, ...body(inner) } },
});
const dnsBase = { query_name: 'example.test' };
/** modules.m.<prober>.dns_resolver and its tls_config, for the probers that take one. */
const resolverSections = (prober: string): Record<string, Section> => ({
  [`modules.m.${prober}.dns_resolver`]: {
    place: mod(prober, (x) => ({ [prober]: { dns_resolver: { server: '127.0.0.1', ...x } } })),
    keys: { server: read('dns resolver.ts'), transport: read('dns resolver.ts'), doh_path: read('dns resolver.ts'), tls_config: section(`modules.m.${prober}.dns_resolver.tls_config`) },
  },
  [`modules.m.${prober}.dns_resolver.tls_config`]: { place: mod(prober, (x) => ({ [prober]: { dns_resolver: { server: '127.0.0.1', tls_config: x } } })), keys: tlsAt(`${prober}.dns_resolver.tls_config.`) },
});

const SECTIONS: Record<string, Section> = {
  ...resolverSections('http'),
  ...resolverSections('tcp'),
  ...resolverSections('icmp'),
  ...resolverSections('trace'),
  '(root)': { place: (x) => x, keys: { modules: section('modules.m'), tasks: section('tasks[]') } },
  'modules.m': {
    place: mod('http', (x) => x),
    keys: {
      prober: read('probers/index.ts registry'),
      timeout: read('probe deadline (api/server.ts, tasks)'),
      http: section('modules.m.http'),
      tcp: section('modules.m.tcp'),
      icmp: section('modules.m.icmp'),
      dns: section('modules.m.dns'),
      grpc: section('modules.m.grpc'),
      unix: section('modules.m.unix'),
      websocket: section('modules.m.websocket'),
      trace: section('modules.m.trace'),
    },
  },
  'modules.m.http': {
    place: mod('http', (x) => ({ http: x })),
    keys: {
      valid_status_codes: read('http rules.ts'),
      valid_http_versions: read('http rules.ts'),
      method: read('request line'),
      headers: read('request headers'),
      body: read('request body'),
      body_file: read('request body'),
      compression: read('Accept-Encoding and decoding (exchange.ts)'),
      no_follow_redirects: read('folded into follow_redirects at load'),
      fail_if_ssl: read('chain.ts'),
      fail_if_not_ssl: read('chain.ts'),
      fail_if_body_matches_regexp: read('http rules.ts'),
      fail_if_body_not_matches_regexp: read('http rules.ts'),
      fail_if_body_json_matches_cel: read('http cel.ts (test/probers/http_cel.test.ts)'),
      fail_if_body_json_not_matches_cel: read('http cel.ts (test/probers/http_cel.test.ts)'),
      fail_if_header_matches: section('modules.m.http.fail_if_header_matches[]'),
      fail_if_header_not_matches: section('modules.m.http.fail_if_header_not_matches[]'),
      body_size_limit: read('exchange.ts'),
      ...ip,
      dns_resolver: section('modules.m.http.dns_resolver'),
      ...clientKeys('http', 'modules.m.http'),
      enable_http3: {
        refusedAtUse: {
          value: true,
          with: { enable_http2: false },
          message: 'modules.m.http.enable_http3: HTTP/3 needs QUIC, which Node 20 does not have; set enable_http3: false (and enable_http2 as wanted)',
        },
      },
      skip_resolve_phase_with_proxy: read('http probe.ts with proxy_url (test/probers/http_proxy.test.ts)'),
      all_addresses: read('http.ts: one result per address'),
      max_redirects: read('chain.ts'),
      request_ocsp: read('TLS status_request (request_spec.ts)'),
      body_rules_window: read('exchange.ts: bytes kept for body rules (body_match.ts)'),
      enable_http1: refusedHTTP(true, 'HTTP/1.1 is always enabled'),
    },
  },
  'modules.m.http.fail_if_header_matches[]': { place: mod('http', (x) => ({ http: { fail_if_header_matches: [x] } })), keys: headerMatch },
  'modules.m.http.fail_if_header_not_matches[]': { place: mod('http', (x) => ({ http: { fail_if_header_not_matches: [x] } })), keys: headerMatch },
  ...clientSections('http', (x) => mod('http', (y) => ({ http: x(y) }))),
  'modules.m.tcp': {
    place: mod('tcp', (x) => ({ tcp: x })),
    keys: {
      ...ip,
      dns_resolver: section('modules.m.tcp.dns_resolver'),
      source_ip_address: read('tcp.ts: local address'),
      query_response: section('modules.m.tcp.query_response[]'),
      tls: read('tcp.ts: TLS from the start'),
      tls_config: section('modules.m.tcp.tls_config'),
      reset_on_close: read('tcp.ts / fast.ts: RST at close'),
    },
  },
  'modules.m.tcp.tls_config': { place: mod('tcp', (x) => ({ tcp: { tls_config: x } })), keys: tlsAt('tcp.tls_config.') },
  'modules.m.tcp.query_response[]': {
    place: mod('tcp', (x) => ({ tcp: { query_response: [x] } })),
    keys: {
      expect: read('tcp dialogue.ts'),
      expect_bytes: read('tcp dialogue.ts (blackbox 0.28)'),
      send: read('tcp dialogue.ts (a !!binary value sent as bytes)'),
      starttls: read('tcp dialogue.ts'),
      labels: section('modules.m.tcp.query_response[].labels[]'),
    },
  },
  'modules.m.tcp.query_response[].labels[]': {
    place: mod('tcp', (x) => ({ tcp: { query_response: [{ labels: [x] }] } })),
    keys: { name: read('probe_expect_info labels'), value: read('probe_expect_info labels') },
  },
  'modules.m.icmp': {
    place: mod('icmp', (x) => ({ icmp: x })),
    keys: {
      ...ip,
      dns_resolver: section('modules.m.icmp.dns_resolver'),
      source_ip_address: read('icmp.ts checkSource'),
      payload_size: read('echo payload'),
      dont_fragment: read('DF bit'),
      ttl: read('hop limit'),
      pings: read('echoes per round'),
      interval: read('time between echoes'),
    },
  },
  'modules.m.trace': {
    place: mod('trace', (x) => ({ trace: x })),
    keys: {
      ...ip,
      dns_resolver: section('modules.m.trace.dns_resolver'),
      protocol: read('trace_run.ts'),
      port: read('trace_run.ts'),
      first_ttl: read('trace_run.ts'),
      max_ttl: read('trace_run.ts'),
      rounds: read('trace_run.ts'),
      interval: read('trace_run.ts'),
      flows: read('trace_run.ts'),
      payload_size: read('trace_run.ts'),
    },
  },
  'modules.m.dns': {
    place: mod('dns', (x) => ({ dns: { ...dnsBase, ...x } })),
    keys: {
      ...ip,
      source_ip_address: read('dns exchange.ts: bind before connect'),
      transport_protocol: read('dns probe.ts'),
      dns_over_tls: read('dns probe.ts: TLS over TCP'),
      dns_over_https: read('dns doh.ts'),
      doh_method: read('dns doh.ts'),
      doh_path: read('dns doh.ts'),
      tcp_on_truncation: read('dns probe.ts: tcp_retry'),
      tls_resume: read('dns tls_sessions.ts'),
      edns: section('modules.m.dns.edns'),
      query_name: read('dns target.ts'),
      query_type: read('dns query.ts'),
      query_class: read('dns query.ts'),
      recursion_desired: read('dns query.ts'),
      valid_rcodes: read('dns validate.ts'),
      tls_config: section('modules.m.dns.tls_config'),
      validate_answer_rrs: section('modules.m.dns.validate_answer_rrs'),
      validate_authority_rrs: section('modules.m.dns.validate_authority_rrs'),
      validate_additional_rrs: section('modules.m.dns.validate_additional_rrs'),
    },
  },
  'modules.m.dns.edns': {
    place: mod('dns', (x) => ({ dns: { ...dnsBase, edns: x } })),
    keys: { udp_payload_size: read('dns wire.ts OPT'), dnssec_ok: read('dns wire.ts OPT'), nsid: read('dns wire.ts OPT'), cookie: read('dns wire.ts OPT'), client_subnet: read('dns wire.ts OPT') },
  },
  'modules.m.dns.validate_answer_rrs': { place: mod('dns', (x) => ({ dns: { ...dnsBase, validate_answer_rrs: x } })), keys: rrRead },
  'modules.m.dns.validate_authority_rrs': { place: mod('dns', (x) => ({ dns: { ...dnsBase, validate_authority_rrs: x } })), keys: rrRead },
  'modules.m.dns.validate_additional_rrs': { place: mod('dns', (x) => ({ dns: { ...dnsBase, validate_additional_rrs: x } })), keys: rrRead },
  'modules.m.dns.tls_config': { place: mod('dns', (x) => ({ dns: { ...dnsBase, tls_config: x } })), keys: tlsAt('dns.tls_config.') },
  'modules.m.grpc': {
    place: mod('grpc', (x) => ({ grpc: x })),
    keys: {
      service: read('grpc health.ts Check request'),
      metadata: read('grpc probe.ts: call metadata (test/probers/grpc.test.ts)'),
      ...ip,
      tls: read('grpc probe.ts credentials'),
      tls_config: section('modules.m.grpc.tls_config'),
    },
  },
  'modules.m.grpc.tls_config': { place: mod('grpc', (x) => ({ grpc: { tls_config: x } })), keys: tlsAt('grpc.tls_config.') },
  'modules.m.unix': {
    place: mod('unix', (x) => ({ unix: x })),
    keys: { query_response: section('modules.m.unix.query_response[]'), tls: read('unix probe.ts'), tls_config: section('modules.m.unix.tls_config') },
  },
  'modules.m.unix.tls_config': { place: mod('unix', (x) => ({ unix: { tls_config: x } })), keys: tlsAt('unix.tls_config.') },
  'modules.m.unix.query_response[]': {
    place: mod('unix', (x) => ({ unix: { query_response: [x] } })),
    keys: { expect: read('tcp dialogue.ts'), expect_bytes: read('tcp dialogue.ts'), send: read('tcp dialogue.ts'), starttls: read('unix probe.ts'), labels: section('modules.m.unix.query_response[].labels[]') },
  },
  'modules.m.unix.query_response[].labels[]': {
    place: mod('unix', (x) => ({ unix: { query_response: [{ labels: [x] }] } })),
    keys: { name: read('probe_expect_info labels'), value: read('probe_expect_info labels') },
  },
  'modules.m.websocket': {
    place: mod('websocket', (x) => ({ websocket: x })),
    keys: {
      http_config: section('modules.m.websocket.http_config'),
      headers: section('modules.m.websocket.headers.X'),
      query_response: section('modules.m.websocket.query_response[]'),
      ...ip,
    },
  },
  'modules.m.websocket.headers.X': { place: mod('websocket', (x) => ({ websocket: { headers: { 'X-A': x } } })), keys: headerValueKeys },
  'modules.m.websocket.query_response[]': {
    place: mod('websocket', (x) => ({ websocket: { query_response: [x] } })),
    keys: {
      expect: read('websocket probe.ts step'),
      send: read('websocket probe.ts step'),
      expect_bytes: wsStep('expect_bytes', 'S'),
      starttls: wsStep('starttls', true),
      labels: { refusedAtUse: { value: [{ name: 'a', value: 'b' }], message: 'modules.m.websocket.query_response[0].labels: a websocket step is a message (expect and send only)' } },
    },
  },
  ...clientSections('websocket.http_config', (x) => mod('websocket', (y) => ({ websocket: { http_config: x(y) } }))),
  'tasks[]': {
    place: (x) => ({ modules: { m: { prober: 'http' } }, tasks: [{ name: 't', module: 'm', targets: ['http://127.0.0.1/'], ...x }] }),
    keys: {
      name: read('task series label'),
      module: read('plan'),
      targets: read('plan'),
      interval: read('scheduler'),
      timeout: read('scheduler: probe deadline'),
      jitter: read('scheduler: first run offset'),
      success_threshold: read('up/down state'),
      failure_threshold: read('up/down state'),
      labels: read('every per-task and per-target series, /results, logs (test/daemon/labels.test.ts)'),
      max_target_series: read('outputs/metrics.ts: per-target series cap'),
    },
  },
};

const UNKNOWN = 'zz_not_a_key';

function issuesOf(config: unknown): ConfigError['issues'] {
  try {
    loadConfigString(stringify(config), 'keys.yml');
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
}

/** The keys a decoder accepts, as it lists them when it meets an unknown one. */
function decoderKeys(s: Section): string[] {
  const issue = issuesOf(s.place({ [UNKNOWN]: 1 })).find((i) => i.path.endsWith(UNKNOWN));
  const m = /unknown key \(expected one of: (.*)\)$/.exec(issue?.message ?? '');
  assert.ok(m, `no unknown-key message: ${JSON.stringify(issue)}`);
  return m[1].split(', ');
}

test('every key the decoders accept has a line in the table, and every line a key', () => {
  const reached = new Set<string>(['(root)']);
  for (const [name, s] of Object.entries(SECTIONS)) {
    const accepted = decoderKeys(s).sort();
    const listed = Object.keys(s.keys).filter((k) => !('refused' in s.keys[k])).sort();
    assert.deepEqual(accepted, listed, `${name}: keys the decoder accepts vs the table`);
    for (const use of Object.values(s.keys)) if ('section' in use) reached.add(use.section);
  }
  assert.deepEqual([...reached].sort(), Object.keys(SECTIONS).sort(), 'every section is reached from the root, and every nested mapping has a section');
});

test('refused keys fail at load with their message', () => {
  let checked = 0;
  for (const [name, s] of Object.entries(SECTIONS)) {
    for (const [key, use] of Object.entries(s.keys)) {
      if (!('refused' in use)) continue;
      checked++;
      const issue = issuesOf(s.place({ [key]: use.refused.value })).find((i) => i.path.endsWith(`.${key}`));
      assert.equal(issue?.message, use.refused.message, `${name}.${key}`);
    }
  }
  // Since issue 12 only enable_http1 (no key of blackbox's) is refused at load; the rest load.
  assert.ok(checked >= 1, `${checked} refusals checked`);
});

test('a module with a key refused at use loads, and a task or a probe with it fails with the message', async () => {
  let checked = 0;
  for (const [name, s] of Object.entries(SECTIONS)) {
    for (const [key, use] of Object.entries(s.keys)) {
      if (!('refusedAtUse' in use)) continue;
      checked++;
      const config = s.place({ ...use.refusedAtUse.with, [key]: use.refusedAtUse.value }) as { modules: Record<string, { prober: string }> };
      const loaded = loadConfigString(stringify(config), 'keys.yml');
      const target = TARGETS[config.modules.m.prober];
      const r = await runProbe(target, loaded.modules.get('m')!, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
      assert.deepEqual([r.success, r.reason, r.message], [false, 'unsupported', use.refusedAtUse.message], `${name}.${key}: probe`);
      const withTask = { ...config, tasks: [{ name: 't', module: 'm', targets: [target] }] };
      const issue = issuesOf(withTask).find((i) => i.path === 'tasks[0].module');
      assert.equal(issue?.message, `module m cannot run: ${use.refusedAtUse.message}`, `${name}.${key}: task`);
    }
  }
  assert.ok(checked >= 40, `${checked} refusals at use checked`);
});

/** A target of each prober that the refusal stops before any traffic. */
const TARGETS: Record<string, string> = {
  http: 'http://127.0.0.1:9/',
  tcp: '127.0.0.1:9',
  icmp: '127.0.0.1',
  trace: '127.0.0.1',
  dns: '127.0.0.1:9',
  grpc: '127.0.0.1:9',
  unix: '/nonexistent/sonde.sock',
  websocket: 'ws://127.0.0.1:9/',
};

test('every prober a blackbox module may name runs (none is only known)', () => {
  assert.deepEqual(Object.keys(NOT_YET_AVAILABLE), []);
  for (const p of ['http', 'tcp', 'icmp', 'dns', 'grpc', 'unix', 'websocket']) assert.ok(proberFor(p), p);
});

/** shared/fixtures/blackbox beside the checkout (or beside a folder above it, for a worktree). */
function sharedBlackboxFixtures(): string | undefined {
  for (let dir = path.resolve(__dirname, '../../..'); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared', 'fixtures', 'blackbox');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

test('the example.yml of blackbox 0.23 to main under test/fixtures matches shared/fixtures/blackbox', (t) => {
  const dir = sharedBlackboxFixtures();
  if (dir === undefined) {
    if (process.env.CI === 'true') assert.fail('shared/fixtures/blackbox is missing beside the checkout');
    t.skip('shared/fixtures/blackbox is not beside this checkout');
    return;
  }
  const ours = path.resolve(__dirname, '../../../test/fixtures/blackbox/examples');
  for (const f of readdirSync(dir).filter((n) => n.startsWith('example-'))) {
    assert.equal(readFileSync(path.join(ours, f), 'utf8'), readFileSync(path.join(dir, f), 'utf8'), f);
  }
});
