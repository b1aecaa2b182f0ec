import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AVAILABLE_PROBERS, ConfigError, loadConfigFile, loadConfigString } from '../../src/config/load';
import { builtinConfig } from '../../src/config/builtin';
import { fixture } from './fixtures';

test("Debian's blackbox.yml (blackbox_exporter 0.23) loads unchanged", () => {
  const file = fixture('debian-blackbox.yml');
  const c = loadConfigFile(file);
  assert.equal(c.source, file);
  assert.deepEqual([...c.modules.keys()], [
    'http_2xx', 'http_post_2xx', 'tcp_connect', 'pop3s_banner', 'grpc', 'grpc_plain', 'ssh_banner', 'irc_banner', 'icmp', 'icmp_ttl5',
  ]);
  assert.deepEqual(c.tasks, []);
  assert.equal(c.modules.get('http_post_2xx')!.http.method, 'POST');
  const pop3 = c.modules.get('pop3s_banner')!.tcp;
  assert.equal(pop3.tls, true);
  assert.equal(pop3.query_response[0].expect?.test('OK ready'), true, '"^+OK" matches as Go reads it');
  const irc = c.modules.get('irc_banner')!.tcp.query_response;
  assert.deepEqual(irc.map((q) => q.send), ['NICK prober', 'USER prober prober prober :prober', 'PONG ${1}', undefined]);
  assert.equal(irc[2].expect?.exec('PING :abc123')?.[1], 'abc123');
  assert.equal(c.modules.get('grpc')!.grpc.tls, true);
  assert.equal(c.modules.get('grpc')!.grpc.preferred_ip_protocol, 'ip4');
  assert.equal(c.modules.get('grpc_plain')!.grpc.service, 'service1');
  assert.equal(c.modules.get('icmp_ttl5')!.timeout, 5);
  assert.equal(c.modules.get('icmp_ttl5')!.icmp.ttl, 5);
});

test('modules get blackbox defaults (and sonde defaults for sonde options)', () => {
  const c = loadConfigString('modules: {h: {prober: http}, t: {prober: tcp}, i: {prober: icmp}, d: {prober: dns, dns: {query_name: x}}, g: {prober: grpc}}', 'defaults.yml');
  const [h, t, i, d, g] = ['h', 't', 'i', 'd', 'g'].map((name) => c.modules.get(name)!);
  assert.equal(h.timeout, 0, 'module timeout 0: derived from the scrape or task timeout');
  assert.deepEqual(
    { ...h.http, tls_config: { ...h.http.tls_config } },
    {
      valid_status_codes: [], valid_http_versions: [], method: 'GET', headers: {}, compression: '', follow_redirects: true,
      fail_if_ssl: false, fail_if_not_ssl: false, fail_if_body_matches_regexp: [], fail_if_body_not_matches_regexp: [],
      fail_if_header_matches: [], fail_if_header_not_matches: [], body_size_limit: 0, preferred_ip_protocol: 'ip6',
      ip_protocol_fallback: true, tls_config: { insecure_skip_verify: false }, enable_http2: true,
      skip_resolve_phase_with_proxy: false, all_addresses: false, max_redirects: 10, request_ocsp: true, body_rules_window: 4194304,
    },
  );
  assert.deepEqual(t.tcp, { preferred_ip_protocol: 'ip6', ip_protocol_fallback: true, query_response: [], tls: false, tls_config: { insecure_skip_verify: false }, reset_on_close: true });
  assert.deepEqual(i.icmp, { preferred_ip_protocol: 'ip6', ip_protocol_fallback: true, payload_size: 0, dont_fragment: false, ttl: 0, pings: 1, interval: 1 });
  assert.equal(d.dns.query_type, 'ANY');
  assert.equal(d.dns.query_class, 'IN');
  assert.equal(d.dns.transport_protocol, 'udp');
  assert.equal(d.dns.recursion_desired, true);
  assert.deepEqual(d.dns.valid_rcodes, ['NOERROR']);
  assert.deepEqual({ service: g.grpc.service, ip: g.grpc.preferred_ip_protocol, fb: g.grpc.ip_protocol_fallback }, { service: '', ip: 'ip6', fb: true });
});

test('the full fixture sets every supported key', () => {
  const c = loadConfigFile(fixture('full.yml'));
  const h = c.modules.get('http_full')!;
  assert.equal(h.timeout, 90);
  assert.deepEqual(h.http.valid_status_codes, [200, 204, 301]);
  assert.deepEqual(h.http.valid_http_versions, ['HTTP/1.1', 'HTTP/2.0']);
  assert.deepEqual(h.http.headers, { Host: 'vhost.example.test', 'Accept-Encoding': 'gzip, br;q=0.5', 'X-Number': '42' });
  assert.equal(h.http.body, '{"ping": true}');
  assert.equal(h.http.compression, 'gzip');
  assert.equal(h.http.follow_redirects, false);
  assert.equal(h.http.fail_if_not_ssl, true);
  assert.equal(h.http.fail_if_body_matches_regexp[1].test('an ERROR happened'), true, '(?i) applied');
  assert.equal(h.http.fail_if_header_matches[0].allow_missing, true);
  assert.equal(h.http.fail_if_header_not_matches[0].regexp.test('https://example.test'), true);
  assert.deepEqual(h.http.basic_auth, { username: 'probe', password_file: '/etc/sonde/password' });
  assert.equal(h.http.body_size_limit, 1024 * 1024, 'Base2Bytes: 1MB is 1 MiB');
  assert.equal(h.http.preferred_ip_protocol, 'ip4');
  assert.equal(h.http.ip_protocol_fallback, false);
  assert.deepEqual(h.http.tls_config, {
    ca_file: '/etc/ssl/certs/ca-certificates.crt', // from the merge key <<: *tls
    server_name: 'probe.example',
    cert_file: '/etc/sonde/client.crt',
    key_file: '/etc/sonde/client.key',
    insecure_skip_verify: true,
    min_version: 'TLS12',
    max_version: 'TLS13',
  });
  assert.equal(h.http.enable_http2, false);
  assert.equal(c.modules.get('http_with_proxy')!.http.proxy_url, 'http://proxy.example:3128');
  assert.equal(h.http.skip_resolve_phase_with_proxy, true);
  assert.deepEqual([h.http.all_addresses, h.http.max_redirects, h.http.request_ocsp], [true, 3, false]);

  const b = c.modules.get('http_bearer')!.http;
  assert.deepEqual([b.bearer_token_file, b.body_file, b.follow_redirects], ['/etc/sonde/token', '/etc/sonde/body.json', false]);
  assert.equal(c.modules.get('http_token')!.http.bearer_token, 's3cret');

  const t = c.modules.get('tcp_full')!.tcp;
  assert.deepEqual([t.preferred_ip_protocol, t.ip_protocol_fallback, t.source_ip_address, t.tls, t.reset_on_close], ['ip4', false, '127.0.0.1', true, false]);
  assert.equal(t.tls_config.server_name, 'probe.example', 'an alias (*tls) as a whole tls_config');
  assert.equal(t.query_response.length, 3);
  assert.deepEqual({ ...t.query_response[2], expect: undefined }, { expect: undefined, starttls: true, labels: [{ name: 'greeting', value: '${rest}' }] });
  assert.equal(t.query_response[2].expect?.exec('+OK hello')?.groups?.rest, 'hello');

  assert.deepEqual(c.modules.get('icmp_full')!.icmp, {
    preferred_ip_protocol: 'ip4', ip_protocol_fallback: false, source_ip_address: '::1', payload_size: 1400, dont_fragment: true, ttl: 64, pings: 5, interval: 0.2,
  });

  const d = c.modules.get('dns_full')!.dns;
  assert.deepEqual(
    [d.transport_protocol, d.dns_over_tls, d.query_name, d.query_type, d.query_class, d.recursion_desired, d.valid_rcodes, d.source_ip_address],
    ['tcp', true, 'example.test', 'MX', 'CH', false, ['NOERROR', 'NXDOMAIN'], '127.0.0.1'],
  );
  assert.equal(d.validate_answer_rrs.fail_if_not_matches_regexp[0].test('example.test.\t300\tIN\tMX\t10 mail.example.test.'), true);
  assert.equal(d.validate_answer_rrs.fail_if_none_matches_regexp.length, 1);
  assert.equal(d.validate_authority_rrs.fail_if_matches_regexp.length, 1);
  assert.equal(d.validate_additional_rrs.fail_if_matches_regexp.length, 1);
  assert.deepEqual(c.modules.get('grpc_full')!.grpc, {
    service: 'health.v1', preferred_ip_protocol: 'ip4', ip_protocol_fallback: false, tls: true, tls_config: { insecure_skip_verify: false, server_name: 'grpc.example' },
  });

  assert.deepEqual(c.tasks[0], {
    name: 'web', module: 'http_full', targets: ['https://127.0.0.1:8443/healthz', '127.0.0.1:8080/'], interval: 120, timeout: 20, jitter: 5,
    success_threshold: 2, failure_threshold: 3, labels: { team: 'platform', tier: '1' }, max_target_series: 50,
  });
});

test('task defaults: interval 15s, timeout = module timeout or 10s, capped at the interval', () => {
  const c = loadConfigFile(fixture('full.yml'));
  const [, ssh, ping] = c.tasks;
  assert.deepEqual(
    { ...ssh, targets: undefined },
    { name: 'ssh:banner-check', module: 'tcp_full', targets: undefined, interval: 15, timeout: 5, jitter: 0, success_threshold: 1, failure_threshold: 1, labels: {}, max_target_series: 1000 },
  );
  assert.equal(ping.interval, 10, 'a plain number is seconds');
  assert.equal(ping.timeout, 0.25, 'the module timeout (250ms)');
  const cases: Array<[string, number]> = [
    ['interval: 15s', 10],
    ['interval: 4s', 4],
    ['interval: 1m', 10],
  ];
  for (const [line, timeout] of cases) {
    const cfg = loadConfigString(`modules: {icmp: {prober: icmp}}\ntasks:\n  - {name: p, module: icmp, targets: [127.0.0.1], ${line}}\n`, 't.yml');
    assert.equal(cfg.tasks[0].timeout, timeout, line);
  }
});

test('YAML anchors, aliases and merge keys work as in yaml.v3', () => {
  const c = loadConfigString(
    `modules:
  base: &base
    prober: http
    http: &h {method: HEAD, valid_status_codes: [200]}
  derived:
    <<: *base
    timeout: 3s
  other:
    prober: http
    http:
      <<: *h
      method: PUT
`,
    'anchors.yml',
  );
  assert.deepEqual([c.modules.get('derived')!.prober, c.modules.get('derived')!.timeout, c.modules.get('derived')!.http.method], ['http', 3, 'HEAD']);
  assert.deepEqual([c.modules.get('other')!.http.method, c.modules.get('other')!.http.valid_status_codes], ['PUT', [200]], 'explicit keys win over merged ones');
});

test('an empty file is an empty config, and a file with only modules has no tasks', () => {
  assert.deepEqual(loadConfigString('', 'empty.yml'), { source: 'empty.yml', modules: new Map(), tasks: [] });
  assert.deepEqual(loadConfigString('modules:\ntasks:\n', 'nulls.yml'), { source: 'nulls.yml', modules: new Map(), tasks: [] });
});

test('the built-in config probes the daemon itself and passes the same validation', () => {
  const c = builtinConfig('127.0.0.1:9115');
  assert.equal(c.source, '<built-in>');
  assert.deepEqual(Object.fromEntries([...c.modules.values()].map((m) => [m.name, m.prober])), { http_2xx: 'http', tcp_connect: 'tcp', icmp: 'icmp' });
  assert.deepEqual(
    c.tasks.map((t) => [t.module, t.targets, t.interval]),
    [
      ['http_2xx', ['http://127.0.0.1:9115/-/healthy'], 5],
      ['tcp_connect', ['127.0.0.1:9115'], 5],
      ['icmp', ['127.0.0.1'], 5],
    ],
  );
  assert.ok(c.tasks.every((t) => t.timeout <= t.interval));
  assert.deepEqual(builtinConfig('0.0.0.0:9115').tasks[1].targets, ['127.0.0.1:9115'], 'a wildcard bind is probed over loopback');
  assert.deepEqual(builtinConfig('[::]:9115').tasks[0].targets, ['http://[::1]:9115/-/healthy']);
  assert.deepEqual(builtinConfig(':9115').tasks[1].targets, ['127.0.0.1:9115']);
  assert.throws(() => builtinConfig('no-port'), (e: unknown) => e instanceof ConfigError && /^<built-in>:\d+:\d+: tasks\[1\]\.targets\[0\]: got "no-port", expected host:port/.test(e.message));
});

test('AVAILABLE_PROBERS lists what tasks may use today', () => {
  assert.deepEqual([...AVAILABLE_PROBERS], ['http', 'tcp', 'icmp', 'trace', 'dns', 'tcp_syn']);
});

test('size units follow Base2Bytes and no_follow_redirects is honoured', () => {
  const sizes: Array<[string, number]> = [['512', 512], ['512B', 512], ['64KB', 65536], ['64KiB', 65536], ['2MB', 2097152], ['1GiB', 1073741824]];
  for (const [text, bytes] of sizes) {
    const c = loadConfigString(`modules: {h: {prober: http, http: {body_size_limit: ${text}}}}`, 's.yml');
    assert.equal(c.modules.get('h')!.http.body_size_limit, bytes, text);
  }
  const c = loadConfigString('modules: {h: {prober: http, http: {no_follow_redirects: true}}}', 'r.yml');
  assert.equal(c.modules.get('h')!.http.follow_redirects, false);
});
