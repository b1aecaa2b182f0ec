// `sonde check-config --web.config.file F` and `sonde run --config.check --web.config.file F`
// validate a web config with the loader the daemon starts with (src/web/source.ts loadWebState):
// decoding, bcrypt hashes, the certificate and key read. Messages are the daemon's (as
// test/web/listener.test.ts sees them at a refused start).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { runSonde } from '../lab/cli';
import { makePKI, type PKI } from '../lab/pki';

const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
let dir = '';
let pki: PKI;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-checkweb-'));
  pki = await makePKI(path.join(dir, 'pki'));
});

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

const CASES: Array<{ what: string; text: () => string; ok: boolean; message: RegExp }> = [
  { what: 'basic auth users', text: () => `basic_auth_users:\n  prom: ${JSON.stringify(HASH)}\n`, ok: true, message: /valid: web config: plain HTTP, 1 basic auth users/ },
  { what: 'TLS with a certificate and key', text: () => `tls_server_config:\n  cert_file: ${pki.leaves.valid.certPath}\n  key_file: ${pki.leaves.valid.keyPath}\n`, ok: true, message: /valid: web config: TLS, 0 basic auth users/ },
  { what: 'a password that is not a bcrypt hash', text: () => 'basic_auth_users:\n  prom: plain-text\n', ok: false, message: /web\.yml:2:9: basic_auth_users\.prom: got "plain-text", expected a bcrypt hash/ },
  { what: 'an unknown key', text: () => 'tls_config: {}\n', ok: false, message: /web\.yml:1:1: tls_config: unknown key/ },
  { what: 'a key file that does not exist', text: () => `tls_server_config:\n  cert_file: ${pki.leaves.valid.certPath}\n  key_file: ${path.join(dir, 'missing.key')}\n`, ok: false, message: /missing\.key/ },
];

for (const c of CASES) {
  test(`check-config --web.config.file: ${c.what}`, async () => {
    const web = file('web.yml', c.text());
    const r = await runSonde(['check-config', '--web.config.file', web]);
    assert.equal(r.code, c.ok ? 0 : 1, r.stderr);
    assert.match(c.ok ? r.stdout : r.stderr, c.message);
    const run = await runSonde(['run', '--config.check', '--web.config.file', web]);
    assert.equal(run.code, c.ok ? 0 : 1, run.stderr);
    if (c.ok) assert.equal(run.stdout, `${web}: web config file is ok\n`);
    else assert.equal(run.stderr, r.stderr, 'the same message from both commands');
  });
}

test('check-config FILE --web.config.file WEB checks both and fails when either is bad', async () => {
  const cfg = file('sonde.yml', 'modules:\n  tcp_connect: { prober: tcp }\n');
  const web = file('web2.yml', 'basic_auth_users:\n  prom: plain-text\n');
  const r = await runSonde(['check-config', cfg, '--web.config.file', web]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /sonde\.yml: valid: 1 modules/);
  assert.match(r.stderr, /expected a bcrypt hash/);
  const none = await runSonde(['check-config']);
  assert.equal(none.code, 2, none.stderr);
});
