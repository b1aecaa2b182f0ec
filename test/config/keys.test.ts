// Every config key is read or refused. The table below says, for each key the decoders accept,
// what reads it or why it is refused; the test asks the decoders themselves for their keys (an
// unknown key makes a decoder list the keys it knows), so a key added to a decoder without a line
// here fails, and so does a line for a key the decoders no longer have. Refused keys are loaded and
// must fail with their message; keys whose module loads but cannot run must fail every use.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { ConfigError, loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { runProbe } from '../../src/schedule/run_probe';
import { NOT_YET_AVAILABLE, proberFor } from '../../src/probers/index';
import { testRuntime } from '../runtime';
import { TASK_SECTIONS } from './keys_tasks';
import { clientKeys, clientSections, headerMatch, headerValueKeys, ip, mod, read, refusedHTTP, rrRead, section, tlsAt, wsStep, type Section, type Use } from './keys_table';

/** probe_policy's allow and deny lists (src/policy/check.ts reads them; test/policy covers them). */
const policyRules: Record<string, Use> = {
  cidrs: read('policy check.ts: addresses after resolution'),
  hosts: read('policy check.ts: host name patterns'),
  ports: read('policy check.ts: the port the prober connects to'),
};

const dnsBase = { query_name: 'example.test' };
/** modules.m.<prober>.dns_resolver and its tls_config, for the probers that take one. */
/** What a section of the prober needs besides the resolver to load (tcp_syn: its ports). */
const needs = (prober: string): Record<string, unknown> => (prober === 'tcp_syn' ? { ports: '22' } : {});
const resolverSections = (prober: string): Record<string, Section> => ({
  [`modules.m.${prober}.dns_resolver`]: {
    place: mod(prober, (x) => ({ [prober]: { ...needs(prober), dns_resolver: { server: '127.0.0.1', ...x } } })),
    keys: { server: read('dns resolver.ts'), transport: read('dns resolver.ts'), doh_path: read('dns resolver.ts'), tls_config: section(`modules.m.${prober}.dns_resolver.tls_config`) },
  },
  [`modules.m.${prober}.dns_resolver.tls_config`]: {
    place: mod(prober, (x) => ({ [prober]: { ...needs(prober), dns_resolver: { server: '127.0.0.1', tls_config: x } } })),
    keys: tlsAt(`${prober}.dns_resolver.tls_config.`),
  },
});

const SECTIONS: Record<string, Section> = {
  ...resolverSections('http'),
  ...resolverSections('tcp'),
  ...resolverSections('icmp'),
  ...resolverSections('trace'),
  ...resolverSections('tcp_syn'),
  '(root)': { place: (x) => x, keys: { modules: section('modules.m'), tasks: section('tasks[]'), scan: section('scan'), probe_policy: section('probe_policy'), tenants: section('tenants[]'), scheduler: section('scheduler') } },
  scan: {
    place: (x) => ({ scan: x }),
    keys: { allow: read('scan/targets.ts planTargets, tcp_syn probe.ts'), exclude: read('cli/scan_plan.ts: taken out of every scan') },
  },
  'modules.m.tcp_syn': {
    place: mod('tcp_syn', (x) => ({ tcp_syn: { ports: '22', ...x } })),
    keys: {
      ...ip,
      dns_resolver: section('modules.m.tcp_syn.dns_resolver'),
      source_ip_address: read('tcp_syn probe.ts: ScanSpec source4/source6'),
      ports: read('tcp_syn probe.ts: ScanSpec ports'),
      retries: read('tcp_syn probe.ts: ScanSpec retries'),
      wait: read('tcp_syn probe.ts: ScanSpec waitMs'),
      rate: read('tcp_syn probe.ts: ScanSpec rate'),
      source_port_range: read('tcp_syn probe.ts: ScanSpec sourcePorts'),
      fail_if_not_open: read('tcp_syn probe.ts verdict'),
      scan_allow: { refused: { value: ['127.0.0.1'], message: "not supported by sonde: the allow list is the config's scan.allow, for every module alike" } },
    },
  },
  probe_policy: { place: (x) => ({ probe_policy: x }), keys: { allow: section('probe_policy.allow'), deny: section('probe_policy.deny') } },
  'probe_policy.allow': { place: (x) => ({ probe_policy: { allow: x } }), keys: policyRules },
  'probe_policy.deny': { place: (x) => ({ probe_policy: { deny: x } }), keys: policyRules },
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
      tcp_syn: section('modules.m.tcp_syn'),
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
      compression: read('decoding as that algorithm (exchange.ts); no Accept-Encoding of its own, as blackbox 0.28'),
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
      reuse_connections: read('dns conns.ts'),
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
  ...TASK_SECTIONS,
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
  tcp_syn: '127.0.0.1',
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

// SONDE_KEYS_STATUS=FILE writes the table as JSON (section -> key -> use): the source of the list of
// every key with its status that closes issue 12 (joined with blackbox 0.28's keys from its source).
if (process.env.SONDE_KEYS_STATUS) writeFileSync(process.env.SONDE_KEYS_STATUS, JSON.stringify(Object.fromEntries(Object.entries(SECTIONS).map(([n, s]) => [n, s.keys])), null, 1));
