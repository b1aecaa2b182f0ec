// HTTPS probes against local servers using a PKI made by the test: certificate verdicts, TLS facts,
// OCSP stapling and the probe_ssl_* / probe_tls_* / sonde_* series.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HTTPModule, TLSConfig } from '../../src/config/types';
import { dnsNames, GO_ZERO_TIME, goDN } from '../../src/probers/tls_facts';
import { type LeafKind, makePKI, type PKI } from '../lab/pki';
import { httpModule, httpsServer, type LocalServer, metric, probe, render } from './http_lab';

let pki: PKI;
const servers: LocalServer[] = [];

async function serve(leaf: LeafKind, extra: ServerOptions = {}, host = '127.0.0.1'): Promise<LocalServer> {
  const s = await httpsServer({ cert: pki.leaves[leaf].cert, key: pki.leaves[leaf].key, ...extra }, (_req, res) => res.end('tls ok'), host);
  servers.push(s);
  return s;
}

function tlsModule(tls: Partial<TLSConfig> = {}, over: Partial<HTTPModule> = {}) {
  return httpModule({ tls_config: { insecure_skip_verify: false, ca_file: pki.ca.certPath, ...tls }, ...over });
}

/** https://127.0.0.1:<port>/ : an address the leaves carry as an IP SAN (no name to resolve). */
const at = (s: LocalServer) => `https://127.0.0.1:${s.port}/`;

before(async () => {
  pki = await makePKI(mkdtempSync(path.join(os.tmpdir(), 'sonde-pki-')));
});
after(async () => {
  for (const s of servers) await s.close();
});

describe('http prober, TLS verdicts', () => {
  test('a valid chain succeeds and exposes blackbox TLS series with the leaf facts', async () => {
    const s = await serve('valid');
    const m = tlsModule();
    const r = await probe(at(s), m);
    assert.equal(r.success, true, r.message);
    assert.ok(r.phases.tls > 0);
    assert.equal(r.tls?.version, 'TLS 1.3');
    assert.match(r.tls?.cipher ?? '', /^TLS_(AES|CHACHA20)_/);
    const text = await render(r, m);
    assert.equal(metric(text, 'probe_http_ssl'), 1);
    assert.equal(metric(text, 'probe_ssl_earliest_cert_expiry'), pki.leaves.valid.notAfter);
    assert.equal(metric(text, 'probe_ssl_last_chain_expiry_timestamp_seconds'), pki.leaves.valid.notAfter);
    assert.equal(metric(text, 'probe_tls_version_info{version="TLS 1.3"}'), 1);
    const fp = r.tls?.chain[0].fingerprintSha256 ?? '';
    assert.match(fp, /^[0-9a-f]{64}$/);
    assert.equal(
      metric(
        text,
        `probe_ssl_last_chain_info{fingerprint_sha256="${fp}",issuer="CN=sonde test CA,O=sonde tests",serialnumber="${pki.leaves.valid.serialNumber.toLowerCase()}",subject="CN=localhost,O=sonde tests",subjectalternative="localhost"}`,
      ),
      1,
    );
    assert.equal(r.tls?.chain.length, 2, 'leaf and the trusted root');
    assert.match(text, /sonde_ssl_cert_not_after\{depth="0",[^}]*serial="1001"[^}]*\} \d+/);
  });

  const failures: Array<{ leaf: LeafKind; reason: string }> = [
    { leaf: 'expired', reason: 'cert_expired' },
    { leaf: 'notYetValid', reason: 'cert_not_yet_valid' },
    { leaf: 'wrongHost', reason: 'cert_hostname' },
    { leaf: 'untrusted', reason: 'cert_untrusted' },
  ];
  for (const c of failures) {
    test(`a ${c.leaf} certificate fails with ${c.reason} and no TLS series`, async () => {
      const s = await serve(c.leaf);
      const m = tlsModule();
      const r = await probe(at(s), m);
      assert.equal(r.success, false);
      assert.equal(r.reason, c.reason, r.message);
      const text = await render(r, m);
      assert.equal(metric(text, 'probe_http_ssl'), 0);
      assert.equal(metric(text, 'probe_ssl_earliest_cert_expiry'), undefined);
    });
  }

  test('insecure_skip_verify accepts an untrusted chain; no verified chain means Go zero time', async () => {
    const s = await serve('untrusted');
    const m = tlsModule({ insecure_skip_verify: true, ca_file: undefined });
    const r = await probe(at(s), m);
    assert.equal(r.success, true, r.message);
    const text = await render(r, m);
    assert.equal(metric(text, 'probe_ssl_last_chain_expiry_timestamp_seconds'), GO_ZERO_TIME);
    assert.equal(metric(text, 'probe_ssl_earliest_cert_expiry'), pki.leaves.untrusted.notAfter);
  });

  test('an IP target verifies against the IP SAN (no SNI), over IPv6 too', async () => {
    const s4 = await serve('valid');
    const r4 = await probe(`https://127.0.0.1:${s4.port}/`, tlsModule());
    assert.equal(r4.success, true, r4.message);
    const s6 = await serve('valid', {}, '::1');
    const r6 = await probe(`https://[::1]:${s6.port}/`, tlsModule({}, { preferred_ip_protocol: 'ip6' }));
    assert.equal(r6.success, true, r6.message);
    assert.equal(r6.ipProtocol, 6);
  });

  test('a TLS 1.2-only server reports "TLS 1.2"; min_version TLS13 refuses it', async () => {
    const s = await serve('valid', { maxVersion: 'TLSv1.2' });
    const m = tlsModule({ max_version: 'TLS12' });
    const r = await probe(at(s), m);
    assert.equal(r.success, true, r.message);
    assert.equal(metric(await render(r, m), 'probe_tls_version_info{version="TLS 1.2"}'), 1);
    assert.match(r.tls?.cipher ?? '', /^TLS_ECDHE_ECDSA_WITH_/);
    const refused = await probe(at(s), tlsModule({ min_version: 'TLS13' }));
    assert.equal(refused.reason, 'tls_handshake', refused.message);
  });

  test('fail_if_ssl fails a response over TLS', async () => {
    const s = await serve('valid');
    const r = await probe(at(s), tlsModule({}, { fail_if_ssl: true }));
    assert.equal(r.reason, 'ssl_forbidden');
  });

  test('a client certificate from cert_file/key_file is presented', async () => {
    const s = await serve('valid', { requestCert: true, rejectUnauthorized: true, ca: pki.ca.cert });
    const r = await probe(at(s), tlsModule({ cert_file: pki.client.certPath, key_file: pki.client.keyPath }));
    assert.equal(r.success, true, r.message);
    const without = await probe(at(s), tlsModule());
    assert.equal(without.success, false);
  });
});

describe('http prober, OCSP stapling', () => {
  /** A server that staples `status` (RFC 6066 status_request), or nothing when null. */
  async function serveStapled(status: 'good' | 'revoked' | null): Promise<LocalServer> {
    const s = await serve('valid');
    s.server.on('OCSPRequest', (_cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp?: Buffer) => void) => {
      cb(null, status ? pki.ocspResponse(status) : undefined);
    });
    return s;
  }

  test('a stapled "good" response succeeds and exposes sonde_ocsp_* series', async () => {
    const s = await serveStapled('good');
    const m = tlsModule({}, { request_ocsp: true });
    const r = await probe(at(s), m);
    assert.equal(r.success, true, r.message);
    assert.deepEqual(r.tls?.ocsp, { status: 'good', thisUpdate: pki.ocspThisUpdate, nextUpdate: pki.ocspNextUpdate });
    const text = await render(r, m);
    assert.equal(metric(text, 'sonde_ocsp_status{status="good"}'), 1);
    assert.equal(metric(text, 'sonde_ocsp_next_update_timestamp_seconds'), pki.ocspNextUpdate);
  });

  test('a stapled "revoked" response fails with ocsp_revoked and reports the revocation time', async () => {
    const s = await serveStapled('revoked');
    const m = tlsModule({}, { request_ocsp: true });
    const r = await probe(at(s), m);
    assert.equal(r.success, false);
    assert.equal(r.reason, 'ocsp_revoked');
    assert.equal(r.tls?.ocsp?.revokedAt, pki.revokedAt);
    const text = await render(r, m);
    assert.equal(metric(text, 'sonde_ocsp_status{status="revoked"}'), 1);
    assert.equal(metric(text, 'sonde_ocsp_revoked_timestamp_seconds'), pki.revokedAt);
  });

  test('no staple reads as "absent"; without request_ocsp nothing is reported', async () => {
    const s = await serveStapled(null);
    const r = await probe(at(s), tlsModule({}, { request_ocsp: true }));
    assert.equal(r.success, true, r.message);
    assert.equal(r.tls?.ocsp?.status, 'absent');
    const g = await serveStapled('revoked');
    const plain = await probe(at(g), tlsModule());
    assert.equal(plain.success, true, 'a staple not asked for is not looked at');
    assert.equal(plain.tls?.ocsp, undefined);
  });
});

describe('certificate names as blackbox (Go) prints them', () => {
  const cases = [
    { desc: 'CN before O whatever the encoding order', in: 'O=Org\nCN=host', out: 'CN=host,O=Org' },
    { desc: 'Go field order, multi-valued OU joined by +', in: 'C=DE\nOU=a\nOU=b\nCN=h', out: 'CN=h,OU=a+OU=b,C=DE' },
    { desc: 'emailAddress as OID=#hex of the IA5String', in: 'CN=h\nemailAddress=a@b', out: 'CN=h,1.2.840.113549.1.9.1=#1603614062' },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(goDN(c.in), c.out));
  test('subjectalternative keeps DNS names only', () => {
    assert.equal(dnsNames('DNS:a.example, IP Address:127.0.0.1, DNS:b.example'), 'a.example,b.example');
    assert.equal(dnsNames(undefined), '');
  });
});
