// --web.config.file on the daemon, seen through curl: TLS with the configured certificate, basic
// auth on every endpoint (/probe too, with the native gateway on: it steps aside), the file re-read
// on change (new password, rotated certificate) without a restart, client certificates.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { curl } from '../lab/curl';
import { startDaemon } from '../lab/daemon';
import { makePKI } from '../lab/pki';
import { waitFor } from '../lab/wait';

const CONFIG = `modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
`;

/** Every endpoint sonde serves, and one it does not: none answers without credentials. */
const PATHS = ['/probe?module=tcp_connect&target=127.0.0.1:1', '/metrics', '/', '/config', '/logs?id=0', '/results', '/-/healthy', '/-/ready', '/-/reload', '/nothing'];

function webConfig(hash: string, extra = ''): string {
  // Relative names: taken from the web config's folder, as the toolkit does.
  return `tls_server_config:
  cert_file: server.crt
  key_file: server.key
${extra}http_server_config:
  headers:
    X-Frame-Options: deny
basic_auth_users:
  prom: ${JSON.stringify(hash)}
`;
}

async function tcpTarget(): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  srv.unref(); // a failed start must not keep the test process alive
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

test('web config: TLS and basic auth on every endpoint, gateway aside, re-read on change', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-web-'));
  const pki = await makePKI(path.join(dir, 'pki'));
  copyFileSync(pki.leaves.valid.certPath, path.join(dir, 'server.crt'));
  copyFileSync(pki.leaves.valid.keyPath, path.join(dir, 'server.key'));
  const webFile = path.join(dir, 'web.yml');
  writeFileSync(webFile, webConfig(bcrypt.hashSync('first', 4)));
  writeFileSync(path.join(dir, 'sonde.yml'), CONFIG);
  const target = await tcpTarget();
  // SONDE_GATEWAY is left as it is (the gateway on, where the fast path is): the web config must move it aside.
  delete process.env.SONDE_GATEWAY;
  const d = await startDaemon(['--config', path.join(dir, 'sonde.yml'), '--no-ebpf', '--web.config.file', webFile]);
  const base = `https://127.0.0.1:${d.port}`;
  const ca = ['--cacert', pki.ca.certPath];
  try {
    for (const p of PATHS) {
      const r = await curl(base + p, ca);
      assert.equal(r.status, 401, `${p} without credentials: ${r.body}`);
      assert.equal(r.headers['www-authenticate'], 'Basic', p);
      assert.equal(r.headers['x-frame-options'], 'deny', `${p}: the web config's headers are on every answer`);
      const wrong = await curl(base + p, [...ca, '-u', 'prom:wrong']);
      assert.equal(wrong.status, 401, `${p} with a wrong password`);
      const nobody = await curl(base + p, [...ca, '-u', 'nobody:first']);
      assert.equal(nobody.status, 401, `${p} with an unknown user`);
    }
    const auth = [...ca, '-u', 'prom:first'];
    const probe = await curl(`${base}/probe?module=tcp_connect&target=127.0.0.1:${target.port}`, auth);
    assert.equal(probe.status, 200, probe.body);
    assert.match(probe.body, /^probe_success 1$/m);
    const metrics = await curl(`${base}/metrics`, auth);
    assert.equal(metrics.status, 200);
    assert.doesNotMatch(metrics.body, /^sonde_gateway_requests_total/m, 'the native gateway did not take the listener');
    assert.equal((await curl(`${base}/-/reload`, auth)).status, 405, 'GET /-/reload');
    assert.equal((await curl(`${base}/-/reload`, [...auth, '-X', 'POST'])).status, 200, 'POST /-/reload');
    assert.equal((await curl(`${base}/-/reload`, [...ca, '-X', 'POST'])).status, 401, 'POST /-/reload without credentials');
    const plain = await curl(`http://127.0.0.1:${d.port}/metrics`);
    assert.notEqual(plain.status, 200, 'plain HTTP is not served on a TLS listener');

    // A new password: taken at the next request, no restart.
    writeFileSync(webFile, webConfig(bcrypt.hashSync('second', 4)));
    assert.ok(await waitFor(async () => (await curl(`${base}/metrics`, [...ca, '-u', 'prom:second'])).status === 200, 60_000), 'the new password works');
    assert.equal((await curl(`${base}/metrics`, auth)).status, 401, 'the old password no longer does');

    // A rotated certificate (another CA's): taken at the next connection.
    copyFileSync(pki.leaves.untrusted.certPath, path.join(dir, 'server.crt'));
    copyFileSync(pki.leaves.untrusted.keyPath, path.join(dir, 'server.key'));
    const other = ['--cacert', pki.otherCA.certPath, '-u', 'prom:second'];
    assert.ok(await waitFor(async () => (await curl(`${base}/metrics`, other)).status === 200, 60_000), 'the rotated certificate is served');
    assert.equal((await curl(`${base}/metrics`, [...ca, '-u', 'prom:second'])).status, 0, 'the old CA no longer verifies it');

    // A broken web config: refused until fixed, the daemon stays up.
    writeFileSync(webFile, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  bogus: 1\n');
    assert.ok(await waitFor(async () => (await curl(`${base}/metrics`, other)).status !== 200, 60_000), 'an invalid web config is not served');
    writeFileSync(webFile, webConfig(bcrypt.hashSync('third', 4)));
    assert.ok(await waitFor(async () => (await curl(`${base}/metrics`, ['--cacert', pki.otherCA.certPath, '-u', 'prom:third'])).status === 200, 60_000), 'fixed again');
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
    target.close();
  }
  // The same daemon without a web config: the gateway takes the listener, so the test above had it on.
  const plain = await startDaemon(['--config', path.join(dir, 'sonde.yml'), '--no-ebpf']);
  try {
    const m = await fetch(`http://127.0.0.1:${plain.port}/metrics`);
    assert.match(await m.text(), /^sonde_gateway_requests_total/m, 'without a web config the native gateway serves /probe');
  } finally {
    plain.child.kill('SIGTERM');
    await plain.exited;
  }
});

test('web config: client certificates (RequireAndVerifyClientCert)', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-web-mtls-'));
  const pki = await makePKI(path.join(dir, 'pki'));
  const webFile = path.join(dir, 'web.yml');
  writeFileSync(
    webFile,
    `tls_server_config:
  cert_file: ${pki.leaves.valid.certPath}
  key_file: ${pki.leaves.valid.keyPath}
  client_ca_file: ${pki.ca.certPath}
  client_auth_type: RequireAndVerifyClientCert
  min_version: TLS13
`,
  );
  writeFileSync(path.join(dir, 'sonde.yml'), CONFIG);
  const d = await startDaemon(['--config', path.join(dir, 'sonde.yml'), '--no-ebpf', '--web.config.file', webFile]);
  const base = `https://127.0.0.1:${d.port}/metrics`;
  try {
    assert.equal((await curl(base, ['--cacert', pki.ca.certPath])).status, 0, 'no client certificate: the handshake fails');
    const ok = await curl(base, ['--cacert', pki.ca.certPath, '--cert', pki.client.certPath, '--key', pki.client.keyPath]);
    assert.equal(ok.status, 200, ok.body);
    const tls12 = await curl(base, ['--cacert', pki.ca.certPath, '--cert', pki.client.certPath, '--key', pki.client.keyPath, '--tls-max', '1.2']);
    assert.equal(tls12.status, 0, 'min_version TLS13 refuses TLS 1.2');
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
});

test('web config: an invalid file stops the start with its reason', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-web-bad-'));
  const webFile = path.join(dir, 'web.yml');
  writeFileSync(webFile, 'basic_auth_users:\n  prom: plain-text\n');
  await assert.rejects(startDaemon(['--no-ebpf', '--web.config.file', webFile]), /web\.yml:2:9: basic_auth_users\.prom: got "plain-text", expected a bcrypt hash/);
});
