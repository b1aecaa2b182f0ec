// The TCP prober's TLS: TLS from the first byte (valid, untrusted, wrong host, expired,
// insecure_skip_verify) and an SMTP-like STARTTLS dialogue, with the probe_ssl_* / probe_tls_*
// series they must produce. Certificates come from the throw-away PKI in test/lab/pki.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tls from 'node:tls';
import { after, before, test } from 'node:test';
import type { FailureReason } from '../../src/result';
import { probeTCP } from '../../src/probers/tcp/probe';
import { makePKI, type LeafKind, type PKI } from '../lab/pki';
import { listen, metric, probeContext, probeText, smtpServer, tcpModule } from './tcp_helpers';

let pki: PKI;
let dir: string;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sonde-tcp-tls-'));
  pki = await makePKI(dir);
});
after(async () => {
  for (const c of closers) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function tlsServer(leaf: LeafKind, host = '127.0.0.1'): Promise<number> {
  const { cert, key } = pki.leaves[leaf];
  const server = tls.createServer({ cert, key }, (c) => {
    c.on('error', () => undefined);
    c.write('hello over tls\n');
  });
  server.on('tlsClientError', () => undefined);
  const { port, close } = await listen(server, host);
  closers.push(close);
  return port;
}

test('TLS from the start to a trusted server succeeds and exposes the certificate series', async () => {
  const port = await tlsServer('valid');
  const mod = tcpModule({ tls: true, tls_config: { ca_file: pki.ca.certPath, insecure_skip_verify: false } });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
  assert.ok(r.phases.tls > 0, 'tls phase timed');
  const text = await probeText(r, mod);
  assert.equal(metric(text, 'probe_ssl_earliest_cert_expiry'), pki.leaves.valid.notAfter);
  assert.equal(metric(text, 'probe_ssl_last_chain_expiry_timestamp_seconds'), pki.leaves.valid.notAfter);
  assert.equal(metric(text, 'probe_tls_version_info', { version: 'TLS 1.3' }), 1);
  assert.equal(metric(text, 'probe_ssl_last_chain_info', { subjectalternative: 'localhost' }), 1);
  assert.equal(metric(text, 'probe_failed_due_to_regex'), 0);
});

test('TLS with a query_response reads the first line over TLS', async () => {
  const port = await tlsServer('valid');
  const mod = tcpModule({
    tls: true,
    tls_config: { ca_file: pki.ca.certPath, insecure_skip_verify: false },
    query_response: [{ expect: /^hello over tls$/, starttls: false, labels: [] }],
  });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
  assert.ok(r.phases.dialogue >= 0 && r.phases.tls > 0);
});

const failures: Array<{ desc: string; leaf: LeafKind; target?: string; serverName?: string; reason: FailureReason }> = [
  { desc: 'a chain from an untrusted CA', leaf: 'untrusted', reason: 'cert_untrusted' },
  { desc: 'a certificate for another host', leaf: 'wrongHost', reason: 'cert_hostname' },
  { desc: 'an expired certificate', leaf: 'expired', reason: 'cert_expired' },
  { desc: 'a certificate not valid yet', leaf: 'notYetValid', reason: 'cert_not_yet_valid' },
  { desc: 'a server_name the certificate does not carry', leaf: 'valid', serverName: 'other.invalid', reason: 'cert_hostname' },
];
for (const f of failures) {
  test(`TLS to ${f.desc} fails with ${f.reason} and no TLS series`, async () => {
    const port = await tlsServer(f.leaf);
    const mod = tcpModule({
      tls: true,
      tls_config: { ca_file: pki.ca.certPath, server_name: f.serverName, insecure_skip_verify: false },
    });
    const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
    assert.equal(r.success, false);
    assert.equal(r.reason, f.reason, r.message);
    const text = await probeText(r, mod);
    assert.equal(metric(text, 'probe_ssl_earliest_cert_expiry'), undefined);
    assert.equal(metric(text, 'probe_tls_version_info'), undefined);
    assert.equal(metric(text, 'sonde_probe_failure_reason', { reason: f.reason }), 1);
  });
}

test('insecure_skip_verify accepts an untrusted chain, and the last-chain expiry is Go zero time', async () => {
  const port = await tlsServer('untrusted');
  const mod = tcpModule({ preferred_ip_protocol: 'ip4', tls: true, tls_config: { insecure_skip_verify: true } });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
  const text = await probeText(r, mod);
  assert.equal(metric(text, 'probe_ssl_earliest_cert_expiry'), pki.leaves.untrusted.notAfter);
  assert.equal(metric(text, 'probe_ssl_last_chain_expiry_timestamp_seconds'), -62135596800);
});

test('TLS over IPv6 verifies the ::1 IP SAN', async () => {
  const port = await tlsServer('valid', '::1');
  const mod = tcpModule({ tls: true, tls_config: { ca_file: pki.ca.certPath, insecure_skip_verify: false } });
  const r = await probeTCP(`[::1]:${port}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
  assert.equal(metric(await probeText(r, mod), 'probe_ip_protocol'), 6);
});

test('a plain-text server on a tls: true module fails the handshake', async () => {
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.end('220 plain text here\r\n');
  });
  const { port, close } = await listen(server, '127.0.0.1');
  closers.push(close);
  const mod = tcpModule({ tls: true, tls_config: { ca_file: pki.ca.certPath, insecure_skip_verify: false } });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, false);
  assert.equal(r.reason, 'tls_handshake', r.message);
});

test('an SMTP STARTTLS dialogue upgrades mid-stream and reports the TLS facts', async () => {
  const seen: string[] = [];
  const port = await smtpServer(pki, seen, closers);
  const mod = tcpModule({
    tls_config: { ca_file: pki.ca.certPath, insecure_skip_verify: false },
    query_response: [
      { expect: /^220 /, send: 'EHLO prober', starttls: false, labels: [] },
      { expect: /^250-STARTTLS/, send: 'STARTTLS', starttls: false, labels: [] },
      { expect: /^220 /, starttls: true, labels: [] },
      { send: 'EHLO prober', starttls: false, labels: [] },
      { expect: /^250 (AUTH .*)$/, send: 'QUIT', starttls: false, labels: [{ name: 'auth', value: '$1' }] },
    ],
  });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(3));
  assert.equal(r.success, true, r.message);
  await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(seen, ['plain: EHLO prober', 'plain: STARTTLS', 'tls: EHLO prober', 'tls: QUIT']);
  assert.equal(r.tls?.version, 'TLS 1.3');
  assert.ok(r.phases.tls > 0 && r.phases.dialogue > 0);
  const text = await probeText(r, mod);
  assert.equal(metric(text, 'probe_ssl_earliest_cert_expiry'), pki.leaves.valid.notAfter);
  assert.equal(metric(text, 'probe_tls_version_info', { version: 'TLS 1.3' }), 1);
  assert.equal(metric(text, 'probe_expect_info', { auth: 'AUTH PLAIN' }), 1);
  assert.equal(metric(text, 'probe_success'), 1);
});

test('STARTTLS to a server with an untrusted certificate fails with cert_untrusted', async () => {
  const port = await smtpServer(pki, [], closers);
  const mod = tcpModule({
    tls_config: { ca_file: pki.otherCA.certPath, insecure_skip_verify: false },
    query_response: [
      { expect: /^220 /, send: 'EHLO prober', starttls: false, labels: [] },
      { expect: /^250-STARTTLS/, send: 'STARTTLS', starttls: false, labels: [] },
      { expect: /^220 /, starttls: true, labels: [] },
    ],
  });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(3));
  assert.equal(r.success, false);
  assert.equal(r.reason, 'cert_untrusted', r.message);
  assert.equal(metric(await probeText(r, mod), 'probe_failed_due_to_regex'), 0);
});

test('an unreadable ca_file is a config failure, not a crash', async () => {
  const port = await tlsServer('valid');
  const mod = tcpModule({ tls: true, tls_config: { ca_file: path.join(dir, 'missing.pem'), insecure_skip_verify: false } });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, false);
  assert.equal(r.reason, 'config', r.message);
  assert.match(r.message ?? '', /tls_config\.ca_file/);
});
