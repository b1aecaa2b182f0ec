// prometheus/common's client config on the http prober: authorization (credentials and
// credentials_file), oauth2 client credentials against a token server the test runs (token cached
// until it expires), http_headers (values, secrets, files), basic_auth.username_file, inline PEM.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { runProbe } from '../../src/schedule/run_probe';
import { makePKI, type PKI } from '../lab/pki';
import { testRuntime } from '../runtime';

const requests: http.IncomingHttpHeaders[] = [];
const tokenRequests: Array<{ auth?: string; body: string }> = [];
const servers: Array<http.Server | https.Server> = [];
let dir: string;
let pki: PKI;
let web = '';
let tokenURL = '';
let tlsURL = '';

async function listen(s: http.Server | https.Server): Promise<number> {
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sonde-auth-'));
  pki = await makePKI(dir);
  web = `http://127.0.0.1:${await listen(
    http.createServer((req, res) => {
      requests.push(req.headers);
      res.writeHead(req.headers.authorization === 'Bearer t0k3n' || !req.url?.startsWith('/oauth') ? 200 : 401).end();
    }),
  )}`;
  tokenURL = `http://127.0.0.1:${await listen(
    http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        tokenRequests.push({ auth: req.headers.authorization, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: 't0k3n', token_type: 'Bearer', expires_in: 3600 }));
      });
    }),
  )}/token`;
  tlsURL = `https://127.0.0.1:${await listen(https.createServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key }, (_q, r) => r.end('ok')))}/`;
});
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function probe(target: string, httpSection: string) {
  const m = loadConfigString(`modules:\n  m:\n    prober: http\n    http:\n      preferred_ip_protocol: ip4\n${httpSection}`, 'auth.yml').modules.get('m')!;
  return runProbe(target, m, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
}

test('authorization: type and credentials, or credentials_file (trimmed), in the Authorization header', async () => {
  const file = path.join(dir, 'cred');
  writeFileSync(file, 'from-file\n');
  requests.length = 0;
  assert.equal((await probe(`${web}/`, '      authorization:\n        type: Token\n        credentials: abc\n')).success, true);
  assert.equal((await probe(`${web}/`, `      authorization:\n        credentials_file: ${file}\n`)).success, true);
  assert.deepEqual(requests.map((h) => h.authorization), ['Token abc', 'Bearer from-file']);
});

test('oauth2 client credentials: a token from the token server, sent as Bearer and cached', async () => {
  tokenRequests.length = 0;
  const section = `      oauth2:\n        client_id: "id"\n        client_secret: "s e"\n        token_url: "${tokenURL}"\n        scopes: [a, b]\n        endpoint_params:\n          audience: probes\n`;
  const r = await probe(`${web}/oauth`, section);
  assert.equal(r.success, true, r.message);
  const again = await probe(`${web}/oauth`, section);
  assert.equal(again.success, true, again.message);
  assert.equal(tokenRequests.length, 1, 'the token is cached until it expires');
  assert.equal(tokenRequests[0].auth, `Basic ${Buffer.from('id:s+e').toString('base64')}`);
  const form = new URLSearchParams(tokenRequests[0].body);
  assert.deepEqual([form.get('grant_type'), form.get('scope'), form.get('audience')], ['client_credentials', 'a b', 'probes']);
});

test('oauth2 with a token server that is down fails the probe with reason config', async () => {
  const r = await probe(`${web}/oauth`, '      oauth2:\n        client_id: "x"\n        token_url: "http://127.0.0.1:1/token"\n');
  assert.deepEqual([r.success, r.reason], [false, 'config']);
  assert.match(r.message ?? '', /oauth2/);
});

test('http_headers: values, secrets and files; basic_auth.username_file', async () => {
  const key = path.join(dir, 'api-key');
  const user = path.join(dir, 'user');
  writeFileSync(key, 'k3y\n');
  writeFileSync(user, 'probe\n');
  requests.length = 0;
  const r = await probe(`${web}/`, `      http_headers:\n        X-API-Key:\n          files: [${key}]\n        Accept-Language:\n          values: [en-US]\n          secrets: [fr]\n      basic_auth:\n        username_file: ${user}\n        password: pw\n`);
  assert.equal(r.success, true, r.message);
  assert.equal(requests[0]['x-api-key'], 'k3y');
  assert.equal(requests[0]['accept-language'], 'en-US, fr');
  assert.equal(requests[0].authorization, `Basic ${Buffer.from('probe:pw').toString('base64')}`);
  assert.throws(() => loadConfigString('modules:\n  m:\n    prober: http\n    http:\n      http_headers:\n        User-Agent: {values: [x]}\n', 'h.yml'), /setting header "User-Agent" is not allowed/);
});

test('tls_config.ca inline PEM verifies as ca_file does; *_ref is refused at use with reason unsupported', async () => {
  const pem = JSON.stringify(pki.ca.cert);
  const r = await probe(tlsURL, `      tls_config:\n        ca: ${pem}\n`);
  assert.equal(r.success, true, r.message);
  const ref = await probe(tlsURL, '      tls_config:\n        ca_ref: vault-ca\n');
  assert.deepEqual([ref.success, ref.reason], [false, 'unsupported']);
  assert.match(ref.message ?? '', /tls_config\.ca_ref: secret references need a secret manager/);
});

test('oauth2 with a token server that never answers: the probe ends at its deadline, and the token request with it', async () => {
  const closed: Array<Promise<void>> = [];
  const hung = http.createServer((req) => closed.push(new Promise<void>((resolve) => req.socket.once('close', () => resolve()))));
  const port = await listen(hung);
  const started = Date.now();
  const r = await probe(`${web}/oauth`, `      oauth2:\n        client_id: "hung"\n        token_url: "http://127.0.0.1:${port}/token"\n`);
  assert.deepEqual([r.success, r.reason], [false, 'timeout']);
  // The prober's own failure, not the runner's overrun guard: the wait ended at the deadline.
  assert.match(r.message ?? '', /^oauth2: no token from http:\/\/127\.0\.0\.1:\d+\/token before the probe's deadline$/);
  assert.equal(closed.length, 1, 'one token request was made');
  // The request is aborted once its only waiter left: well before the 30 s bound of a request nobody waits for.
  await Promise.race([closed[0], new Promise((_, reject) => setTimeout(() => reject(new Error('the token request outlived its probe')), 20_000).unref())]);
  assert.ok(Date.now() - started < 28_000);
});
