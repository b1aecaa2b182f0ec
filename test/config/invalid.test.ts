// One fixture per invalid config, asserting the exact message (as blackbox_exporter's own tests do).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ConfigError, loadConfigFile, loadConfigString } from '../../src/config/load';
import { fixture } from './fixtures';

const HTTP_KEYS =
  'valid_status_codes, valid_http_versions, method, headers, body, body_file, compression, fail_if_ssl, ' +
  'fail_if_not_ssl, fail_if_body_matches_regexp, fail_if_body_not_matches_regexp, fail_if_header_matches, ' +
  'fail_if_header_not_matches, fail_if_body_json_matches_cel, fail_if_body_json_not_matches_cel, body_size_limit, preferred_ip_protocol, ' +
  'ip_protocol_fallback, dns_resolver, basic_auth, authorization, oauth2, bearer_token, bearer_token_file, tls_config, follow_redirects, ' +
  'enable_http2, http_headers, proxy_url, no_proxy, proxy_from_environment, proxy_connect_header, enable_http3, skip_resolve_phase_with_proxy, ' +
  'all_addresses, max_redirects, request_ocsp, body_rules_window, no_follow_redirects';

/** fixture (in invalid/) → the one message expected, without the leading "FILE:" */
const CASES: Record<string, string> = {
  'unknown-key.yml': `5:7: modules.http_2xx.http.methd: unknown key (expected one of: ${HTTP_KEYS})`,
  'unknown-top-level-key.yml': '4:1: scrape_configs: unknown key (expected one of: modules, tasks, scan, probe_policy, tenants, scheduler)',
  'bad-duration.yml': '4:14: modules.http_2xx.timeout: got "5x", expected a duration like "5s", "1m30s" or "250ms"',
  'ttl-300.yml': '5:12: modules.icmp.icmp.ttl: got 300, expected an integer from 0 to 255',
  'quoted-integer.yml': '5:12: modules.icmp.icmp.ttl: got "64", expected an integer from 0 to 255',
  'payload-size.yml': '5:21: modules.icmp_big.icmp.payload_size: got 70000, expected an integer from 0 to 65500',
  'bad-status-code.yml': '5:33: modules.http_2xx.http.valid_status_codes[1]: got "abc", expected an integer from 100 to 599',
  'bad-regex.yml': '6:11: modules.http_2xx.http.fail_if_body_matches_regexp[0]: got "a(b", expected a valid RE2 regular expression (unterminated group)',
  'lookaround-regex.yml':
    '6:19: modules.ssh_banner.tcp.query_response[0].expect: got "^SSH-(?!1)", expected a valid RE2 regular expression (lookaround (?! is not supported by RE2 at offset 5)',
  'bad-ip-protocol.yml': '5:30: modules.tcp_connect.tcp.preferred_ip_protocol: got "ipv4", expected one of: ip4, ip6',
  'unknown-prober.yml': '3:13: modules.web.prober: got "htp", expected one of: http, tcp, icmp, trace, dns, tcp_syn, grpc, unix, websocket',
  'bad-method.yml': '5:15: modules.http_2xx.http.method: got "GE T", expected an HTTP method (a token, e.g. GET)',
  'long-value.yml':
    '5:15: modules.http_2xx.http.method: got "THIS IS A VERY LONG METHOD NAME WITH SPACES THAT GOES ON..., expected an HTTP method (a token, e.g. GET)',
  'bad-compression.yml': '5:20: modules.http_2xx.http.compression: got "zstd", expected one of: gzip, br, deflate, identity, or ""',
  'accept-encoding-mismatch.yml':
    '5:20: modules.http_gzip.http.compression: got "gzip", expected an encoding that headers.Accept-Encoding ("br") accepts',
  'bad-size.yml': '5:24: modules.http_2xx.http.body_size_limit: got "10 megabytes", expected a size like "512KB" or "1MiB", or a number of bytes',
  'both-fail-if-ssl.yml': '6:24: modules.http_2xx.http.fail_if_not_ssl: got true, expected false when fail_if_ssl is true (the probe could never succeed)',
  'tls-min-over-max.yml': '7:22: modules.https.http.tls_config.max_version: got "TLS11", expected a version not below min_version (TLS12)',
  'cert-without-key.yml': '6:20: modules.https_client.http.tls_config.cert_file: got "/etc/sonde/client.crt", expected key_file to be set too',
  'password-both.yml': '8:24: modules.http_auth.http.basic_auth.password_file: got "/etc/sonde/password", expected only one of password and password_file',
  'bearer-both.yml': '6:26: modules.http_auth.http.bearer_token_file: got "/etc/sonde/token", expected only one of bearer_token and bearer_token_file',
  'oauth2-no-token-url.yml': '6:9: modules.http_oauth.http.oauth2.token_url: missing required key',
  'bad-source-ip.yml': '5:26: modules.icmp.icmp.source_ip_address: got "localhost", expected an IP address',
  'dns-over-tls-on-udp.yml': '5:7: modules.dns_tls.dns.transport_protocol: got udp, expected tcp with dns_over_tls (DNS over TLS runs on TCP)',
  'dns-reuse-on-udp.yml': '6:26: modules.dns_udp_reuse.dns.reuse_connections: keeps TCP and DoT connections open between probes, and this module asks over udp: set transport_protocol: tcp (with or without dns_over_tls), or drop reuse_connections',
  'wrong-type.yml': '5:7: modules.http_2xx.http: got a list, expected a mapping',
  'not-a-mapping.yml': '1:1: (root): got a list, expected a mapping with modules: and tasks:',
  'yaml-syntax.yml': '6:1: (yaml): Flow sequence in block collection must be sufficiently indented and end with a ]',
  'alias-cycle.yml': '2:6: (yaml): alias *m is inside the node it refers to',
  'yaml-bomb.yml': '17:10: (yaml): aliases expand the document to more than 1000000 nodes (*m6 alone to 1793613)',
  'duplicate-key.yml': '4:5: (yaml): Map keys must be unique',
  'unknown-module-in-task.yml': '8:13: tasks[0].module: got "htp_2xx", expected one of the modules: http_2xx, tcp_connect',
  'http3-in-task.yml':
    '9:13: tasks[0].module: module h3 cannot run: modules.h3.http.enable_http3: HTTP/3 needs QUIC, which Node 20 does not have; set enable_http3: false (and enable_http2 as wanted)',
  'proxy-connect-header.yml':
    '6:9: modules.http_proxy_headers.http.proxy_connect_header: got a mapping, expected proxy_url or proxy_from_environment to be set too (if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured)',
  'missing-module-key.yml': '5:5: tasks[0].module: missing required key',
  'duplicate-task-name.yml': '8:11: tasks[1].name: got "ssh", expected a unique task name (tasks[0] has it too)',
  'reserved-module-name.yml':
    '2:3: modules.__proto__: got "__proto__", expected a module name that is not a property of every JavaScript object (__proto__, constructor, toString, ...)',
  'reserved-task-name.yml':
    '5:11: tasks[0].name: got "constructor", expected a task name that is not a property of every JavaScript object (__proto__, constructor, toString, ...)',
  'bad-task-name.yml': '5:11: tasks[0].name: got "1st-ping", expected a task name matching [a-zA-Z_][a-zA-Z0-9_:-]*',
  'timeout-over-interval.yml': '8:14: tasks[0].timeout: got "20s", expected a duration no longer than interval (15s)',
  'jitter-over-interval.yml': '9:13: tasks[0].jitter: got "1m", expected a duration no longer than interval (10s)',
  'zero-interval.yml': '8:15: tasks[0].interval: got "0s", expected a duration greater than 0s',
  'bad-threshold.yml': '8:24: tasks[0].failure_threshold: got 0, expected an integer from 1 to 1000000',
  'empty-targets.yml': '7:14: tasks[0].targets: got a list, expected a non-empty list',
  'duplicate-target.yml': '7:37: tasks[0].targets[2]: got "127.0.0.1", expected a target not listed before (same as targets[0])',
  'tcp-target-without-port.yml':
    '7:15: tasks[0].targets[0]: got "127.0.0.1", expected host:port (e.g. "127.0.0.1:22" or "[::1]:22") for a tcp module',
  'bad-label-name.yml':
    '9:7: tasks[0].labels.bad-name: got "bad-name", expected a Prometheus label name matching [a-zA-Z_][a-zA-Z0-9_]* not starting with __',
  'reserved-label.yml': '9:7: tasks[0].labels.target: got "target", expected a label name other than task, target, module, reason, phase, result, kind, verdict, direction, le, port, state, from, to, qos (sonde sets them)',
};

function load(file: string): ConfigError {
  try {
    loadConfigFile(file);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail(`${file} loaded, but it is invalid`);
}

test('every invalid fixture has an expected message, and every expected message a fixture', () => {
  const files = readdirSync(fixture('invalid')).filter((f) => f.endsWith('.yml')).sort();
  assert.deepEqual(files, Object.keys(CASES).sort());
});

for (const [name, expected] of Object.entries(CASES)) {
  test(`invalid/${name} is rejected with exactly: ${expected.slice(expected.indexOf(' ') + 1, 90)}`, () => {
    const file = fixture(`invalid/${name}`);
    const err = load(file);
    assert.equal(err.message, `${file}:${expected}`);
    assert.equal(err.issues.length, 1);
    const [line, column] = expected.split(':').map(Number);
    assert.deepEqual({ file: err.issues[0].file, line: err.issues[0].line, column: err.issues[0].column }, { file, line, column });
  });
}

test('a file with many problems reports all of them, in file order', () => {
  const file = fixture('many-errors.yml');
  const err = load(file);
  assert.deepEqual(err.message.split('\n'), [
    `${file}:5:33: modules.http_2xx.http.valid_status_codes[1]: got 999, expected an integer from 100 to 599`,
    `${file}:6:7: modules.http_2xx.http.methd: unknown key (expected one of: ${HTTP_KEYS})`,
    `${file}:9:14: modules.icmp.timeout: got "soon", expected a duration like "5s", "1m30s" or "250ms"`,
    `${file}:11:12: modules.icmp.icmp.ttl: got 300, expected an integer from 0 to 255`,
    `${file}:18:13: tasks[0].module: got "htp_2xx", expected one of the modules: http_2xx, icmp, grpc_health`,
    `${file}:24:13: tasks[2].module: got "tcp_connect", expected one of the modules: http_2xx, icmp, grpc_health`,
    `${file}:27:14: tasks[2].timeout: got "30s", expected a duration no longer than interval (10s)`,
  ]);
  assert.equal(err.issues.length, 7);
  assert.deepEqual(err.issues[4], {
    file,
    path: 'tasks[0].module',
    line: 18,
    column: 13,
    message: 'got "htp_2xx", expected one of the modules: http_2xx, icmp, grpc_health',
  });
});

test('an unreadable file is a ConfigError naming the file', () => {
  const file = fixture('does-not-exist.yml');
  const err = load(file);
  assert.equal(err.message, `${file}:1:1: (file): cannot read the file: ENOENT: no such file or directory`);
});

test('a YAML bomb (merge keys of merge keys, 7 levels of 9) is refused at once, not expanded', () => {
  const file = fixture('invalid/yaml-bomb.yml');
  const t0 = performance.now();
  const err = load(file);
  // Expanded, it is 4.8 million merges (over a minute); refused, it is one linear walk.
  assert.ok(performance.now() - t0 < 10_000, `took ${(performance.now() - t0).toFixed(0)} ms`);
  assert.match(err.message, /^.*yaml-bomb\.yml:17:10: \(yaml\): aliases expand the document/);
});

test('a config larger than 8 MiB is refused before it is parsed', () => {
  let err: unknown;
  try {
    loadConfigString(`# ${'x'.repeat(8 * 1024 * 1024)}\nmodules: {}\n`, 'huge.yml');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.equal(err.message, 'huge.yml:1:1: (file): got 8388623 bytes, expected at most 8388608 (8 MiB)');
});

test('merges of merges below the bound load, each mapping expanded once', () => {
  const levels = ['  m0: &m0 {prober: tcp, timeout: 1s}'];
  for (let i = 1; i <= 5; i++) levels.push(`  m${i}: &m${i}\n    <<: [${Array(9).fill(`*m${i - 1}`).join(', ')}]`);
  const c = loadConfigString(`modules:\n${levels.join('\n')}\n`, 'merges.yml');
  assert.deepEqual([c.modules.get('m5')?.prober, c.modules.get('m5')?.timeout], ['tcp', 1]);
});
