// The dns prober against a hostile server on loopback (test/probers/dns_responder.ts): each kind
// of bad answer ends with its own reason and nothing crashes; good answers give blackbox's series.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import type { Module } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox';
import type { ProbeResult } from '../../src/result';
import { Runtime } from '../../src/runtime';
import { runProbe } from '../../src/schedule/run_probe';
import { MAX_PER_SERVER } from '../../src/probers/dns/conns';
import { testRuntime } from '../runtime';
import { startResponder, type Responder } from './dns_responder';

let srv: Responder;
before(async () => {
  srv = await startResponder();
});
after(() => srv.close());

const MODULES = `modules:
  udp: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4 } }
  tcp: { prober: dns, dns: { query_type: A, transport_protocol: tcp, preferred_ip_protocol: ip4 } }
  tcp_kept: { prober: dns, dns: { query_type: A, transport_protocol: tcp, reuse_connections: true, preferred_ip_protocol: ip4 } }
  edns: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4, edns: { nsid: true, cookie: true, client_subnet: 203.0.113.77/24, dnssec_ok: true } } }
  notc: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4, tcp_on_truncation: false } }
  nx_ok: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4, valid_rcodes: [NXDOMAIN] } }
  soa: { prober: dns, dns: { query_type: SOA, preferred_ip_protocol: ip4 } }
  named: { prober: dns, dns: { query_name: ok.test, query_type: A, preferred_ip_protocol: ip4 } }
  rules_ok:
    prober: dns
    dns:
      query_type: A
      preferred_ip_protocol: ip4
      validate_answer_rrs:
        fail_if_not_matches_regexp: ['\\tIN\\tA\\t192\\.0\\.2\\.5[34]$']
        fail_if_none_matches_regexp: ['192\\.0\\.2\\.53']
        fail_if_all_match_regexp: ['^ok\\.test\\.\\t300\\tIN\\tA\\t']
      validate_authority_rrs: { fail_if_matches_regexp: ['.'] }
  rules_match: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4, validate_answer_rrs: { fail_if_matches_regexp: ['192\\.0\\.2\\.54'] } } }
  rules_none: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4, validate_answer_rrs: { fail_if_none_matches_regexp: ['10\\.'] } } }
  rules_all: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4, validate_answer_rrs: { fail_if_all_match_regexp: ['\\.53$'] } } }
  rules_empty: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4, validate_additional_rrs: { fail_if_not_matches_regexp: ['x'] } } }
  txt: { prober: dns, dns: { query_type: TXT, preferred_ip_protocol: ip4, validate_answer_rrs: { fail_if_not_matches_regexp: ['"v=spf1 -all" "quote\\\\"d"$'] } } }
`;
const cfg = loadConfigString(MODULES, 'dns.yml');

async function probe(name: string | undefined, module: string, timeoutSeconds = 2): Promise<{ r: ProbeResult; m: Module }> {
  const m = cfg.modules.get(module)!;
  const target = `${name !== undefined ? `${name}@` : ''}127.0.0.1:${srv.port}`;
  const r = await runProbe(target, m, { timeoutSeconds, logger: silentLogger, runtime: testRuntime });
  return { r, m };
}

const CASES: Array<{ desc: string; name: string; module: string; reason?: string; message?: RegExp; timeout?: number; check?: (r: ProbeResult) => void }> = [
  { desc: 'a good UDP answer', name: 'ok.test', module: 'udp', check: (r) => assert.equal(r.dns?.answerRRs, 2) },
  { desc: 'a good TCP answer', name: 'ok.test', module: 'tcp', check: (r) => assert.equal(r.dns?.transport, 'tcp') },
  { desc: 'TCP: the answer split into 1-byte segments, length prefix included', name: 'split.test', module: 'tcp' },
  { desc: 'reuse_connections: a server that closes after each answer (first probe)', name: 'closeafter.test', module: 'tcp_kept', check: (r) => assert.equal(r.dns?.connectionReused, false) },
  { desc: 'reuse_connections: a server that closes after each answer (the next probe opens a new one)', name: 'closeafter.test', module: 'tcp_kept', check: (r) => assert.equal(r.dns?.connectionReused, false) },
  { desc: 'reuse_connections: one query per connection (first probe keeps it)', name: 'onceper.test', module: 'tcp_kept', check: (r) => assert.equal(r.dns?.connectionReused, false) },
  {
    desc: 'reuse_connections: the kept connection is reset at the next query, which is asked again on a new one',
    name: 'onceper.test',
    module: 'tcp_kept',
    check: (r) => {
      assert.equal(r.dns?.connectionReused, false);
      assert.equal(r.dns?.answerRRs, 2);
    },
  },
  { desc: 'reuse_connections: a pipelined wrong-id answer on a kept connection', name: 'pipelined.test', module: 'tcp_kept' },
  { desc: 'TCP: a wrong-id answer pipelined before the right one in one segment', name: 'pipelined.test', module: 'tcp' },
  { desc: 'TCP: the connection closes in the middle of a message', name: 'cutframe.test', module: 'tcp', reason: 'dns_malformed', message: /closed .* bytes into a/ },
  { desc: 'UDP: an answer with another id only', name: 'wrongid.test', module: 'udp', reason: 'dns_id_mismatch', timeout: 1.5 },
  { desc: 'UDP: the first 20 bytes of an answer', name: 'truncated.test', module: 'udp', reason: 'dns_malformed' },
  { desc: 'UDP: one byte', name: 'short.test', module: 'udp', reason: 'dns_malformed', message: /shorter than a DNS header/ },
  { desc: 'a compression pointer to itself', name: 'loop.test', module: 'udp', reason: 'dns_malformed', message: /bad name/ },
  { desc: 'more records announced than sent', name: 'counts.test', module: 'udp', reason: 'dns_malformed', message: /past the end|buffer overflow/ },
  { desc: 'garbage after the message', name: 'garbage.test', module: 'udp', reason: 'dns_malformed', message: /8 bytes of garbage/ },
  { desc: 'an RDLENGTH that is not the record\'s length', name: 'badrdlen.test', module: 'udp', reason: 'dns_malformed' },
  { desc: 'an answer from another port than the server\'s: dropped by the connected socket, a timeout', name: 'wrongsource.test', module: 'udp', reason: 'dns_timeout', timeout: 1.5 },
  { desc: 'silence', name: 'silent.test', module: 'udp', reason: 'dns_timeout', timeout: 1 },
  {
    desc: 'FORMERR to EDNS, an answer without: EDNS-broken, with the answer\'s facts',
    name: 'formerredns.test',
    module: 'edns',
    reason: 'dns_edns_broken',
    message: /FORMERR/,
    check: (r) => {
      assert.equal(r.dns?.ednsBroken, true);
      assert.equal(r.dns?.answerRRs, 2);
      assert.ok((r.phases.edns_retry ?? 0) > 0);
    },
  },
  { desc: 'silence to EDNS only: EDNS-broken', name: 'silentedns.test', module: 'edns', reason: 'dns_edns_broken', message: /did not answer the EDNS query/, timeout: 3 },
  {
    desc: 'TC on UDP: asked again over TCP, timed as tcp_retry',
    name: 'tc.test',
    module: 'udp',
    check: (r) => {
      assert.equal(r.dns?.tcpRetry, true);
      assert.equal(r.dns?.answerRRs, 2);
      assert.ok((r.phases.tcp_retry ?? 0) > 0);
    },
  },
  { desc: 'TC on UDP and the TCP connection closes without an answer', name: 'tcnotcp.test', module: 'udp', reason: 'dns_truncated', message: /TCP retry failed/ },
  { desc: 'TC on UDP with tcp_on_truncation off: the truncated answer, as blackbox takes it', name: 'tc.test', module: 'notc', check: (r) => assert.equal(r.dns?.flags?.tc, true) },
  { desc: 'NXDOMAIN is not among the default valid_rcodes', name: 'nx.test', module: 'udp', reason: 'dns_rcode', message: /rcode NXDOMAIN/ },
  { desc: 'NXDOMAIN listed in valid_rcodes', name: 'nx.test', module: 'nx_ok' },
  { desc: 'all four rule kinds satisfied', name: 'ok.test', module: 'rules_ok' },
  { desc: 'fail_if_matches_regexp', name: 'ok.test', module: 'rules_match', reason: 'dns_validation', message: /matched fail_if_matches_regexp/ },
  { desc: 'fail_if_none_matches_regexp', name: 'ok.test', module: 'rules_none', reason: 'dns_validation', message: /no record matched/ },
  { desc: 'fail_if_all_match_regexp fails when some record does not match (blackbox\'s code)', name: 'ok.test', module: 'rules_all', reason: 'dns_validation', message: /not every record/ },
  { desc: 'fail_if_not_matches_regexp with no records', name: 'ok.test', module: 'rules_empty', reason: 'dns_validation', message: /additional: fail_if_not_matches_regexp is set but no records/ },
  { desc: 'TXT as miekg prints it, quotes escaped', name: 'ok.test', module: 'txt' },
  {
    desc: 'EDNS options: ECS scope, NSID, server cookie, payload size',
    name: 'ok.test',
    module: 'edns',
    check: (r) => {
      assert.equal(r.dns?.ecsScope, 20);
      assert.equal(r.dns?.nsid, Buffer.from('hostile-1').toString('hex'));
      assert.equal(r.dns?.serverCookie, true);
      assert.equal(r.dns?.ednsPayloadSize, 1400);
      assert.equal(r.dns?.additionalRRs, 1, 'the OPT record counts, as miekg counts it');
    },
  },
];

for (const c of CASES) {
  test(`dns: ${c.desc}`, async () => {
    const { r } = await probe(c.name, c.module, c.timeout);
    assert.equal(r.reason, c.reason, `${r.reason}: ${r.message}`);
    assert.equal(r.success, c.reason === undefined);
    if (c.message) assert.match(r.message ?? '', c.message);
    c.check?.(r);
  });
}

test('the EDNS query carries DO, NSID, a cookie and the client subnet truncated to its prefix', async () => {
  srv.queries.udp.length = 0;
  await probe('ok.test', 'edns');
  const opt = srv.queries.udp[0].additionals?.find((a) => a.type === 'OPT') as unknown as { flag_do: boolean; udpPayloadSize: number; options: Array<{ code: number; sourcePrefixLength?: number; ip?: string; data: Buffer }> };
  assert.equal(opt.flag_do, true);
  assert.equal(opt.udpPayloadSize, 1232);
  const byCode = new Map(opt.options.map((o) => [o.code, o]));
  assert.equal(byCode.get(8)?.sourcePrefixLength, 24);
  assert.equal(byCode.get(8)?.ip, '203.0.113.0');
  assert.equal(byCode.get(3)?.data.length, 0);
  assert.equal(byCode.get(10)?.data.length, 8);
});

test('the query name comes from the target, else from query_name; recursion desired by default', async () => {
  srv.queries.udp.length = 0;
  const { r } = await probe(undefined, 'named');
  assert.equal(r.success, true, r.message);
  assert.equal(srv.queries.udp[0].questions?.[0].name, 'ok.test');
  assert.equal((srv.queries.udp[0].flags ?? 0) & 0x0100, 0x0100);
});

test('/probe text: blackbox\'s series, the SOA serial, sonde extras', async () => {
  const { r, m } = await probe('ok.test', 'soa');
  assert.equal(r.success, true, r.message);
  const text = renderProbe(r, m).metricsSync();
  for (const line of [
    'probe_dns_answer_rrs 1',
    'probe_dns_authority_rrs 0',
    'probe_dns_additional_rrs 0',
    'probe_dns_query_succeeded 1',
    'probe_dns_serial 2026120101',
    'probe_ip_protocol 4',
    'probe_success 1',
    'sonde_dns_rcode 0',
    'sonde_dns_flag{flag="ra"} 1',
  ]) {
    assert.ok(text.split('\n').includes(line), `missing ${line} in\n${text}`);
  }
  for (const phase of ['resolve', 'connect', 'request']) assert.match(text, new RegExp(`probe_dns_duration_seconds\\{phase="${phase}"\\} `));
});

test('/probe text of a failed query: every blackbox series present, query_succeeded 0, no serial', async () => {
  const { r, m } = await probe('silent.test', 'soa', 0.5);
  const text = renderProbe(r, m).metricsSync();
  assert.match(text, /^probe_dns_query_succeeded 0$/m);
  assert.match(text, /^probe_dns_answer_rrs 0$/m);
  assert.match(text, /^probe_dns_duration_seconds\{phase="request"\} 0$/m);
  assert.doesNotMatch(text, /probe_dns_serial/);
  assert.match(text, /sonde_probe_failure_reason\{reason="dns_timeout"\} 1/);
});

test('UDP sockets are reused after a clean answer, never after a timeout (a late answer must not reach the next probe)', async () => {
  const runtime = new Runtime();
  const m = cfg.modules.get('udp')!;
  const at = (name: string, timeoutSeconds = 2) => runProbe(`${name}@127.0.0.1:${srv.port}`, m, { timeoutSeconds, logger: silentLogger, runtime });
  srv.udpPorts.length = 0;
  assert.equal((await at('ok.test')).success, true);
  assert.equal((await at('ok.test')).success, true);
  assert.equal(srv.udpPorts[0], srv.udpPorts[1], 'the second probe took the first one\'s socket');
  assert.equal((await at('silent.test', 0.3)).reason, 'dns_timeout');
  assert.equal((await at('ok.test')).success, true);
  assert.equal(srv.udpPorts[2], srv.udpPorts[1], 'the silent probe took the pooled socket');
  assert.notEqual(srv.udpPorts[3], srv.udpPorts[2], 'the socket of the timed-out probe was not reused');
  const [a, b] = await Promise.all([at('ok.test'), at('ok.test')]);
  assert.ok(a.success && b.success);
  assert.notEqual(srv.udpPorts[4], srv.udpPorts[5], 'two probes at once never share a socket');
});

test('dns_resolver of another prober: NXDOMAIN is dns_nxdomain, silence dns_timeout, both before any connection', async () => {
  const c = loadConfigString(`modules:\n  t: { prober: tcp, tcp: { preferred_ip_protocol: ip4, ip_protocol_fallback: false, dns_resolver: { server: '127.0.0.1:${srv.port}' } } }\n`, 'r.yml');
  const nx = await runProbe('nx.test:80', c.modules.get('t')!, { timeoutSeconds: 2, logger: silentLogger, runtime: testRuntime });
  assert.equal(nx.reason, 'dns_nxdomain', nx.message);
  const silent = await runProbe('silent.test:80', c.modules.get('t')!, { timeoutSeconds: 1, logger: silentLogger, runtime: testRuntime });
  assert.equal(silent.reason, 'dns_timeout', silent.message);
  assert.equal(silent.address, undefined);
});

test('a refused UDP port is refused, not a timeout', async () => {
  const m = cfg.modules.get('udp')!;
  const r = await runProbe('ok.test@127.0.0.1:1', m, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
  assert.equal(r.reason, 'refused', r.message);
});

test('reuse_connections: probes in flight together share at most MAX_PER_SERVER connections, the others wait their turn', async () => {
  const before = srv.tcpConnections();
  const rs = await Promise.all(Array.from({ length: 3 * MAX_PER_SERVER }, () => probe('slow.test', 'tcp_kept', 10)));
  for (const { r } of rs) assert.equal(r.success, true, `${r.reason}: ${r.message}`);
  const opened = srv.tcpConnections() - before;
  assert.ok(opened <= MAX_PER_SERVER, `${opened} connections opened`);
  const waited = rs.filter(({ r }) => r.dns?.connectionReused === true && (r.phases.connect ?? 0) > 0).length;
  assert.ok(waited > 0, 'some probes waited for a busy connection, and their connect phase says so');
});
