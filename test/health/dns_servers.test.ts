// The rolling DNS server window alone (src/health/dns_servers.ts): what each figure counts, the
// window's edge, the score it hands to healthScore, and its bounds. Synthetic results, no servers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { defaultDNS } from '../../src/config/defaults';
import type { DNSModule } from '../../src/config/types';
import { DNSServerWindow, dnsServerOf } from '../../src/health/dns_servers';
import { registerDNSServerMetrics } from '../../src/outputs/dns_server_metrics';
import { healthScore } from '../../src/probers/dns/health_score';
import type { DNSFacts, FailureReason, ProbeResult } from '../../src/result';

const T0 = 1_700_000_000_000;

function mod(dns: Partial<DNSModule> = {}) {
  return { prober: 'dns' as const, dns: { ...defaultDNS(), ...dns } };
}

function res(opts: { target?: string; at?: number; seconds?: number; rcode?: number; reason?: FailureReason; facts?: Partial<DNSFacts>; transport?: DNSFacts['transport'] }): ProbeResult {
  const answered = opts.reason === undefined || opts.reason === 'dns_rcode' || opts.reason === 'dns_validation';
  return {
    target: opts.target ?? 'a.test@127.0.0.1:53',
    module: 'dns',
    prober: 'dns',
    success: opts.reason === undefined,
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    startedAt: opts.at ?? T0,
    durationSeconds: opts.seconds ?? 0.01,
    phases: { resolve: 0.001 },
    dns: {
      transport: opts.transport ?? 'udp',
      queryName: 'a.test',
      queryType: 'A',
      querySucceeded: answered,
      answerRRs: 1,
      authorityRRs: 0,
      additionalRRs: 0,
      rcode: answered ? (opts.rcode ?? 0) : undefined,
      rrsig: false,
      ednsBroken: false,
      tcpRetry: false,
      ...opts.facts,
    },
  };
}

test('the server is the target after NAME@, as written', () => {
  assert.equal(dnsServerOf('www.test@127.0.0.1:5353'), '127.0.0.1:5353');
  assert.equal(dnsServerOf('[::1]:53'), '[::1]:53');
});

test('success ratio, latency quantiles and the score from the window', () => {
  const w = new DNSServerWindow();
  // 18 answers (10..27 ms), one SERVFAIL, one timeout
  for (let i = 0; i < 18; i++) w.record(mod(), res({ at: T0 + i, seconds: 0.011 + i / 1000 }));
  w.record(mod(), res({ rcode: 2, reason: 'dns_rcode' }));
  w.record(mod(), res({ reason: 'dns_timeout', seconds: 1 }));
  const [s] = w.stats(T0 + 1000);
  assert.equal(s.server, '127.0.0.1:53');
  assert.equal(s.transport, 'udp');
  assert.equal(s.probes, 20);
  assert.equal(s.successRatio, 18 / 20, 'NXDOMAIN and NOERROR count as answered, SERVFAIL and silence do not');
  // latency excludes the server-name lookup (1 ms): 10..27 ms
  assert.ok(Math.abs((s.p50 ?? 0) - 0.018) < 1e-9, `p50 ${s.p50}`);
  assert.ok(Math.abs((s.p95 ?? 0) - 0.027) < 1e-9, `p95 ${s.p95}`);
  assert.equal(s.ednsFailureRatio, undefined, 'no EDNS was asked');
  assert.equal(s.handshakeSuccessRatio, undefined);
  assert.equal(s.score, healthScore({ answered: 0.9, p95Latency: s.p95 }));
  assert.ok(s.score > 50 && s.score < 100);
});

test('EDNS failures, ECS adoption and AD count only among the queries that asked for them', () => {
  const w = new DNSServerWindow();
  const edns = { udp_payload_size: 1232, dnssec_ok: true, nsid: false, cookie: false, client_subnet: '198.51.100.0/24' };
  w.record(mod({ edns }), res({ facts: { ecsScope: 24, flags: { aa: false, tc: false, ra: true, ad: true, cd: false } } }));
  w.record(mod({ edns }), res({ facts: { ednsBroken: true } }));
  w.record(mod({ edns }), res({}));
  w.record(mod({ edns }), res({ facts: { ecsScope: 0, flags: { aa: false, tc: false, ra: true, ad: true, cd: false } } }));
  w.record(mod(), res({ facts: { flags: { aa: false, tc: false, ra: true, ad: false, cd: false } } })); // no EDNS at all
  const [s] = w.stats(T0);
  assert.equal(s.probes, 5);
  assert.equal(s.ednsFailureRatio, 1 / 4);
  assert.equal(s.ecsAdoptionRatio, 2 / 4, 'a scope of 0 is still an ECS answer');
  assert.equal(s.dnssecADRatio, 2 / 4);
  assert.equal(s.score, healthScore({ answered: 1, p95Latency: s.p95, edns: 3 / 4 }));
});

test('DoT/DoH handshakes: failures before a session count against it, a timeout says nothing', () => {
  const w = new DNSServerWindow();
  const dot = mod({ dns_over_tls: true });
  w.record(dot, res({ transport: 'tls' }));
  w.record(dot, res({ transport: 'tls', reason: 'dns_rcode', rcode: 5 })); // answered REFUSED: the session was there
  w.record(dot, res({ transport: 'tls', reason: 'cert_untrusted' }));
  w.record(dot, res({ transport: 'tls', reason: 'tls_handshake' }));
  w.record(dot, res({ transport: 'tls', reason: 'timeout' }));
  const [s] = w.stats(T0);
  assert.equal(s.transport, 'tls');
  assert.equal(s.probes, 5);
  assert.equal(s.handshakeSuccessRatio, 2 / 4);
  assert.equal(s.successRatio, 1 / 5);
});

test('samples leave the window, servers with none left are forgotten, and a server per transport', () => {
  const w = new DNSServerWindow({ windowMs: 60_000 });
  w.record(mod(), res({ at: T0 }));
  w.record(mod(), res({ at: T0 + 30_000, reason: 'dns_timeout' }));
  w.record(mod({ transport_protocol: 'tcp' }), res({ at: T0 + 30_000, transport: 'tcp' }));
  assert.equal(w.stats(T0 + 30_000).length, 2, 'udp and tcp to one address are two servers');
  const udp = () => w.stats(T0 + 80_000).find((s) => s.transport === 'udp');
  assert.equal(udp()?.probes, 1, 'the first sample left the window');
  assert.equal(udp()?.successRatio, 0);
  assert.equal(udp()?.score, 0, 'nothing answered: 0');
  assert.deepEqual(w.stats(T0 + 200_000), [], 'everything left the window');
});

test('bounds: samples per server and servers at once', () => {
  const w = new DNSServerWindow({ perServer: 8, maxServers: 3 });
  for (let i = 0; i < 20; i++) w.record(mod(), res({ at: T0 + i, reason: i < 12 ? 'dns_timeout' : undefined }));
  assert.equal(w.stats(T0 + 20)[0].probes, 8, 'only the last 8 are kept');
  assert.equal(w.stats(T0 + 20)[0].successRatio, 1, 'and they are the newest');
  for (let i = 0; i < 3; i++) w.record(mod(), res({ target: `127.0.0.${i + 2}:53`, at: T0 + 100 + i }));
  const servers = w.stats(T0 + 200).map((s) => s.server);
  assert.equal(servers.length, 3);
  assert.ok(!servers.includes('127.0.0.1:53'), 'the server seen longest ago made room');
});

test('results of other probers are not DNS servers', () => {
  const w = new DNSServerWindow();
  w.record({ prober: 'tcp', dns: defaultDNS() }, res({}));
  assert.deepEqual(w.stats(T0), []);
});

test('on /metrics: every figure labelled by server and transport; unasked ratios left out', async () => {
  const w = new DNSServerWindow();
  w.record(mod(), res({}));
  w.record(mod(), res({ reason: 'dns_timeout' }));
  const reg = new Registry();
  registerDNSServerMetrics(reg, w, () => T0);
  const text = await reg.metrics();
  const labels = 'server="127.0.0.1:53",transport="udp"';
  assert.match(text, new RegExp(`^sonde_dns_server_success_ratio\\{${labels}\\} 0.5$`, 'm'));
  assert.match(text, new RegExp(`^sonde_dns_server_window_probes\\{${labels}\\} 2$`, 'm'));
  assert.match(text, new RegExp(`^sonde_dns_server_latency_seconds\\{${labels},quantile="0.95"\\} 0\\.00(9|899)\\d*$`, 'm'));
  assert.match(text, new RegExp(`^sonde_dns_server_health_score\\{${labels}\\} \\d+$`, 'm'));
  assert.doesNotMatch(text, /^sonde_dns_server_edns_failure_ratio\{/m, 'no EDNS query in the window');
});
