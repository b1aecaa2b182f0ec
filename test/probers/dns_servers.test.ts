// The dns prober against real servers on loopback (test/lab/dns_servers.ts): unbound with local
// zones over UDP, TCP, DoT and DoH (certificates from the test's CA), validating knot's signed zone;
// and blackbox_exporter's dns module on the same queries, series by series. Needs the apt packages
// unbound and knot: skipped with the reason without them, a failure without them under CI=true.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfigString } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox';
import type { ProbeResult } from '../../src/result';
import { runProbe } from '../../src/schedule/run_probe';
import { startBlackbox } from '../../bench/lib/procs';
import { BIG_NAME, SIGNED_SERIAL, SIGNED_ZONE, serverTest, startKnot, startUnbound, type Knot, type Unbound } from '../lab/dns_servers';
import { runSonde } from '../lab/cli';
import { makePKI, type PKI } from '../lab/pki';
import { assertSameSeries, samples } from '../lab/prom_text';
import { testRuntime } from '../runtime';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'blackbox');

// The modules blackbox_exporter runs too (blackbox's own keys only).
const SHARED = `modules:
  dns_udp: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, preferred_ip_protocol: ip4 } }
  dns_soa: { prober: dns, timeout: 5s, dns: { query_name: sonde.test, query_type: SOA, preferred_ip_protocol: ip4, validate_answer_rrs: { fail_if_not_matches_regexp: ['IN\\tSOA\\tns\\.sonde\\.test\\. hostmaster\\.sonde\\.test\\. 2026120102 '] } } }
`;

function modules(pki: PKI): string {
  const ca = `tls_config: { ca_file: ${pki.ca.certPath} }`;
  return `${SHARED}  dns_tcp: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, transport_protocol: tcp, preferred_ip_protocol: ip4 } }
  dns_mx: { prober: dns, timeout: 5s, dns: { query_name: mail.sonde.test, query_type: MX, preferred_ip_protocol: ip4, validate_answer_rrs: { fail_if_none_matches_regexp: ['\\tMX\\t10 mx\\.sonde\\.test\\.$'] } } }
  dns_refused: { prober: dns, timeout: 5s, dns: { query_name: outside.test, query_type: A, preferred_ip_protocol: ip4 } }
  dns_big: { prober: dns, timeout: 5s, dns: { query_type: TXT, preferred_ip_protocol: ip4 } }
  dns_dnssec: { prober: dns, timeout: 5s, dns: { query_type: A, preferred_ip_protocol: ip4, edns: { dnssec_ok: true } } }
  dns_auth_soa: { prober: dns, timeout: 5s, dns: { query_name: ${SIGNED_ZONE}, query_type: SOA, recursion_desired: false, preferred_ip_protocol: ip4, edns: { dnssec_ok: true, nsid: true } } }
  dns_dot: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, transport_protocol: tcp, dns_over_tls: true, preferred_ip_protocol: ip4, ${ca} } }
  dns_dot_untrusted: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, transport_protocol: tcp, dns_over_tls: true, preferred_ip_protocol: ip4 } }
  dns_dot_wrong_name: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, transport_protocol: tcp, dns_over_tls: true, preferred_ip_protocol: ip4, tls_config: { ca_file: ${pki.ca.certPath}, server_name: wrong.invalid } } }
  dns_dot_resume: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, transport_protocol: tcp, dns_over_tls: true, tls_resume: true, preferred_ip_protocol: ip4, ${ca} } }
  dns_dot_reuse: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, transport_protocol: tcp, dns_over_tls: true, reuse_connections: true, preferred_ip_protocol: ip4, ${ca} } }
  dns_tcp_reuse: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, transport_protocol: tcp, reuse_connections: true, preferred_ip_protocol: ip4 } }
  dns_doh_post: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, dns_over_https: true, preferred_ip_protocol: ip4, ${ca} } }
  dns_doh_get: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, dns_over_https: true, doh_method: GET, preferred_ip_protocol: ip4, ${ca} } }
  dns_doh_404: { prober: dns, timeout: 5s, dns: { query_name: www.sonde.test, query_type: A, dns_over_https: true, doh_path: /nothing-here, preferred_ip_protocol: ip4, ${ca} } }
`;
}

serverTest('dns prober against unbound (UDP, TCP, DoT, DoH) and knot (DNSSEC), and beside blackbox_exporter', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-dns-'));
  const pki = await makePKI(path.join(dir, 'pki'));
  let knot: Knot | undefined;
  let unbound: Unbound | undefined;
  try {
    knot = await startKnot(dir);
    unbound = await startUnbound(dir, { knot, tls: { certPath: pki.leaves.valid.certPath, keyPath: pki.leaves.valid.keyPath } });
    const cfg: Config = loadConfigString(modules(pki), 'dns.yml');
    const u = unbound;
    const k = knot;
    const probe = (target: string, module: string): Promise<ProbeResult> => runProbe(target, cfg.modules.get(module)!, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });

    const cases: Array<{ desc: string; target: string; module: string; reason?: string; check?: (r: ProbeResult) => void }> = [
      { desc: 'UDP: an A query of a local zone', target: `127.0.0.1:${u.port}`, module: 'dns_udp', check: (r) => assert.equal(r.dns?.answerRRs, 2) },
      { desc: 'TCP', target: `127.0.0.1:${u.port}`, module: 'dns_tcp', check: (r) => assert.equal(r.dns?.answerRRs, 2) },
      { desc: 'SOA: serial and the SOA as miekg prints it', target: `127.0.0.1:${u.port}`, module: 'dns_soa', check: (r) => assert.equal(r.dns?.serial, 2026120102) },
      { desc: 'MX rule', target: `127.0.0.1:${u.port}`, module: 'dns_mx' },
      { desc: 'a name outside the local zones: REFUSED, never resolved upstream', target: `127.0.0.1:${u.port}`, module: 'dns_refused', reason: 'dns_rcode' },
      {
        desc: 'a UDP answer too big for 512 bytes: TC, then the TCP retry',
        target: `${BIG_NAME}@127.0.0.1:${u.port}`,
        module: 'dns_big',
        check: (r) => {
          assert.equal(r.dns?.tcpRetry, true);
          assert.equal(r.dns?.answerRRs, 24);
          assert.ok((r.phases.tcp_retry ?? 0) > 0);
        },
      },
      {
        desc: 'DNSSEC through the validating resolver: AD and RRSIG',
        target: `www.${SIGNED_ZONE}@127.0.0.1:${u.port}`,
        module: 'dns_dnssec',
        check: (r) => {
          assert.equal(r.dns?.flags?.ad, true);
          assert.equal(r.dns?.rrsig, true);
        },
      },
      {
        desc: 'the authoritative server: AA, RRSIG, its SOA serial (knot raises it when it signs)',
        target: `127.0.0.1:${k.port}`,
        module: 'dns_auth_soa',
        check: (r) => {
          assert.equal(r.dns?.flags?.aa, true);
          assert.equal(r.dns?.rrsig, true);
          assert.ok((r.dns?.serial ?? 0) >= SIGNED_SERIAL, `serial ${r.dns?.serial}`);
        },
      },
      { desc: 'DoT on a certificate of the test CA', target: `127.0.0.1:${u.tlsPort}`, module: 'dns_dot', check: (r) => assert.equal(r.tls?.version, 'TLS 1.3') },
      { desc: 'DoT without the CA: untrusted', target: `127.0.0.1:${u.tlsPort}`, module: 'dns_dot_untrusted', reason: 'cert_untrusted' },
      { desc: 'DoT with a server_name the certificate lacks', target: `127.0.0.1:${u.tlsPort}`, module: 'dns_dot_wrong_name', reason: 'cert_hostname' },
      { desc: 'DoT with tls_resume: the first handshake is full', target: `127.0.0.1:${u.tlsPort}`, module: 'dns_dot_resume', check: (r) => assert.equal(r.dns?.tlsResumed, false) },
      {
        desc: 'DoT with tls_resume: the next probe resumes the session',
        target: `127.0.0.1:${u.tlsPort}`,
        module: 'dns_dot_resume',
        check: (r) => {
          assert.equal(r.dns?.tlsResumed, true);
          assert.equal(r.tls, undefined, 'no certificate on a resumed handshake');
        },
      },
      {
        desc: 'DoT with reuse_connections: the first probe opens the connection',
        target: `127.0.0.1:${u.tlsPort}`,
        module: 'dns_dot_reuse',
        check: (r) => {
          assert.equal(r.dns?.connectionReused, false);
          assert.ok((r.phases.connect ?? 0) > 0);
          assert.equal(r.tls?.version, 'TLS 1.3');
        },
      },
      {
        desc: 'DoT with reuse_connections: the next probe asks on it, with the handshake\'s certificate facts',
        target: `127.0.0.1:${u.tlsPort}`,
        module: 'dns_dot_reuse',
        check: (r) => {
          assert.equal(r.dns?.connectionReused, true);
          assert.equal(r.phases.connect, 0);
          assert.equal(r.dns?.answerRRs, 2);
          assert.ok((r.tls?.earliestExpiry ?? 0) > 0, 'the kept connection\'s certificate facts');
        },
      },
      { desc: 'TCP with reuse_connections: a first probe, then one on the kept connection', target: `127.0.0.1:${u.port}`, module: 'dns_tcp_reuse', check: (r) => assert.equal(r.dns?.connectionReused, false) },
      { desc: 'TCP with reuse_connections: the second probe reuses it', target: `127.0.0.1:${u.port}`, module: 'dns_tcp_reuse', check: (r) => assert.equal(r.dns?.connectionReused, true) },
      { desc: 'DoH POST, over HTTP/2', target: `127.0.0.1:${u.httpsPort}`, module: 'dns_doh_post', check: (r) => assert.equal(r.dns?.httpVersion, 2) },
      { desc: 'DoH GET', target: `127.0.0.1:${u.httpsPort}`, module: 'dns_doh_get', check: (r) => assert.equal(r.dns?.answerRRs, 2) },
      { desc: 'DoH on a path the server does not serve', target: `127.0.0.1:${u.httpsPort}`, module: 'dns_doh_404', reason: 'http_status' },
    ];
    for (const c of cases) {
      await t.test(c.desc, async () => {
        const r = await probe(c.target, c.module);
        assert.equal(r.reason, c.reason, `${r.reason}: ${r.message}\nunbound: ${u.log()}`);
        c.check?.(r);
      });
    }

    await t.test('dns_resolver: tcp and http probes resolve their targets through unbound (UDP, DoT, DoH) and say so', async () => {
      const web = http.createServer((_req, res) => res.end('ok'));
      await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
      const webPort = (web.address() as AddressInfo).port;
      try {
        const via = (transport: string, port: number) => `{ server: '127.0.0.1:${port}', transport: ${transport}, tls_config: { ca_file: ${pki.ca.certPath} } }`;
        const c = loadConfigString(
          `modules:
  tcp_udp: { prober: tcp, tcp: { preferred_ip_protocol: ip4, dns_resolver: ${via('udp', u.port)} } }
  tcp_dot: { prober: tcp, tcp: { preferred_ip_protocol: ip4, dns_resolver: ${via('tls', u.tlsPort)} } }
  http_doh: { prober: http, http: { preferred_ip_protocol: ip4, dns_resolver: ${via('https', u.httpsPort)} } }
  http_udp_nx: { prober: http, http: { preferred_ip_protocol: ip4, ip_protocol_fallback: false, dns_resolver: ${via('udp', u.port)} } }
`,
          'r.yml',
        );
        for (const [module, target, server] of [
          ['tcp_udp', `svc.sonde.test:${webPort}`, `127.0.0.1:${u.port} (udp)`],
          ['tcp_dot', `svc.sonde.test:${webPort}`, `127.0.0.1:${u.tlsPort} (tls)`],
          ['http_doh', `http://svc.sonde.test:${webPort}/`, `127.0.0.1:${u.httpsPort} (https)`],
        ]) {
          const r = await runProbe(target, c.modules.get(module)!, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
          assert.equal(r.success, true, `${module}: ${r.message}`);
          assert.equal(r.address, '127.0.0.1');
          assert.equal(r.resolver, server);
          assert.ok((r.phases.resolve ?? 0) > 0, `${module}: resolve phase`);
          assert.match(renderProbe(r, c.modules.get(module)!).metricsSync(), new RegExp(`sonde_dns_resolver_info\\{server="${server.replace(/[().]/g, '\\$&')}"\\} 1`));
        }
        // A name unbound does not have (test. is one of its RFC 6761 static zones) fails with its
        // answer: the system resolver is never asked instead.
        const nx = await runProbe(`http://www.nowhere.test:${webPort}/`, c.modules.get('http_udp_nx')!, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
        assert.equal(nx.reason, 'dns_nxdomain', nx.message);
      } finally {
        web.close();
      }
    });

    await t.test('sonde dns-health against unbound: every check passes (BADVERS to EDNS version 1 included), DoT and DoH too', async () => {
      const r = await runSonde(['dns-health', `127.0.0.1:${u.port}`, '--name', 'www.sonde.test', '--type', 'A', '--dot-port', String(u.tlsPort), '--doh-port', String(u.httpsPort), '--ca-file', pki.ca.certPath, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const [h] = JSON.parse(r.stdout) as Array<{ score: number; checks: Array<{ check: string; ok: boolean; detail: string }> }>;
      for (const c of h.checks) assert.ok(c.ok, `${c.check}: ${c.detail}`);
      assert.deepEqual(h.checks.map((c) => c.check), ['udp', 'tcp', 'edns0', 'edns1', 'edns_unknown_option', 'ecs', 'do', 'dot', 'doh']);
      assert.ok(h.score >= 90, `score ${h.score}`);
    });

    await t.test('/probe series against blackbox_exporter (live when installed, else the captured reference)', async () => {
      const bb = await startBlackbox(SHARED);
      try {
        for (const module of ['dns_udp', 'dns_soa']) {
          const target = `127.0.0.1:${u.port}`;
          const r = await probe(target, module);
          assert.equal(r.success, true, r.message);
          const ours = renderProbe(r, cfg.modules.get(module)!).metricsSync();
          const fixture = path.join(FIXTURES, `${module}.prom`);
          let theirs: string;
          if (bb) {
            theirs = await (await fetch(`http://127.0.0.1:${bb.port}/probe?module=${module}&target=${encodeURIComponent(target)}`)).text();
            if (process.env.SONDE_UPDATE_FIXTURES === '1') writeFileSync(fixture, theirs);
          } else theirs = readFileSync(fixture, 'utf8');
          assert.match(theirs, /^probe_success 1$/m, `blackbox failed ${module}:\n${theirs}`);
          assertSameSeries(ours, theirs, module, (name) => name.startsWith('sonde_'));
          for (const name of ['probe_dns_answer_rrs', 'probe_dns_authority_rrs', 'probe_dns_additional_rrs', 'probe_dns_query_succeeded', 'probe_dns_serial', 'probe_ip_protocol', 'probe_success']) {
            assert.deepEqual(samples(ours, name), samples(theirs, name), `${module}: ${name}`);
          }
        }
      } finally {
        bb?.proc.stop();
      }
    });
  } finally {
    await unbound?.stop();
    await knot?.stop();
  }
});
