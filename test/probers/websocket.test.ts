// The websocket prober against `ws` servers the test runs on loopback: blackbox main's example
// dialogue (Hello/Welcome) with basic auth and a header, a refused upgrade, a message that does
// not match, and wss with the test CA.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { runProbe } from '../../src/schedule/run_probe';
import { makePKI, type PKI } from '../lab/pki';
import { testRuntime } from '../runtime';

const seen: Array<Record<string, string | string[] | undefined>> = [];
let dir: string;
let pki: PKI;
const servers: Array<http.Server | https.Server> = [];

/** The greeting server of blackbox's example: says Hello, answers "Hello server, i'am X" with Welcome. */
function attach(server: http.Server | https.Server, greeting: string): void {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, sock, head) => {
    seen.push(req.headers);
    if (req.headers.authorization !== `Basic ${Buffer.from('user:password').toString('base64')}`) {
      sock.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, sock, head, (ws) => {
      ws.send(greeting);
      ws.on('message', (m: Buffer) => ws.send(String(m) === "Hello server, i'am sonde" ? 'Welcome sonde' : 'Who?'));
    });
  });
}

async function listen(server: http.Server | https.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

let plainPort = 0;
let oddPort = 0;
let tlsPort = 0;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sonde-ws-'));
  pki = await makePKI(dir);
  const plain = http.createServer((_q, r) => r.end('no'));
  attach(plain, 'Hello, sonde');
  plainPort = await listen(plain);
  const odd = http.createServer();
  attach(odd, 'Goodbye');
  oddPort = await listen(odd);
  const secure = https.createServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key });
  attach(secure, 'Hello, sonde');
  tlsPort = await listen(secure);
});
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

const wsModule = (extra = '') =>
  loadConfigString(
    `modules:
  m:
    prober: websocket
    websocket:
      preferred_ip_protocol: ip4
      http_config:
        basic_auth:
          username: "user"
          password: "password"
${extra}      headers:
        X-Some-Header: "my_header"
      query_response:
        - expect: ^Hello,\\s(.+)
          send: "Hello server, i'am \${1}"
        - expect: ^Welcome
`,
    'ws.yml',
  ).modules.get('m')!;

async function probe(target: string, extra = '') {
  const m = wsModule(extra);
  const r = await runProbe(target, m, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
  return { r, text: renderProbe(r, m).metricsSync() };
}

test('websocket: the example dialogue succeeds, with basic auth, the header and blackbox\'s series', async () => {
  seen.length = 0;
  const { r, text } = await probe(`ws://127.0.0.1:${plainPort}/chat`);
  assert.equal(r.success, true, r.message);
  assert.equal(seen[0]['x-some-header'], 'my_header');
  assert.equal(seen[0].host, `127.0.0.1:${plainPort}`);
  assert.match(String(seen[0]['user-agent']), /^Blackbox-Exporter\//);
  assert.match(text, /^probe_websocket_connection_upgraded 1$/m);
  assert.match(text, /^probe_websocket_status_code 101$/m);
  assert.match(text, /^probe_websocket_failed_due_to_regex 0$/m);
  for (const phase of ['resolve', 'connect', 'processing', 'transfer']) assert.match(text, new RegExp(`^probe_websocket_duration_seconds\\{phase="${phase}"\\} `, 'm'), phase);
});

test('websocket: a message that does not match fails with probe_websocket_failed_due_to_regex 1', async () => {
  const { r, text } = await probe(`ws://127.0.0.1:${oddPort}/`);
  assert.deepEqual([r.success, r.reason], [false, 'expect_mismatch'], r.message);
  assert.match(text, /^probe_websocket_failed_due_to_regex 1$/m);
});

test('websocket: an upgrade refused with 401 reports the status, reason websocket_upgrade', async () => {
  const m = loadConfigString('modules:\n  m:\n    prober: websocket\n    websocket:\n      preferred_ip_protocol: ip4\n', 'ws.yml').modules.get('m')!;
  const r = await runProbe(`ws://127.0.0.1:${plainPort}/`, m, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
  assert.deepEqual([r.success, r.reason], [false, 'websocket_upgrade'], r.message);
  const text = renderProbe(r, m).metricsSync();
  assert.match(text, /^probe_websocket_status_code 401$/m);
  assert.match(text, /^probe_websocket_connection_upgraded 0$/m);
});

test('wss: verified against tls_config.ca_file; untrusted without it; insecure_skip_verify passes', async () => {
  const ok = await probe(`wss://127.0.0.1:${tlsPort}/`, `        tls_config:\n          ca_file: ${pki.ca.certPath}\n`);
  assert.equal(ok.r.success, true, ok.r.message);
  const untrusted = await probe(`wss://127.0.0.1:${tlsPort}/`);
  assert.deepEqual([untrusted.r.success, untrusted.r.reason], [false, 'cert_untrusted'], untrusted.r.message);
  const skip = await probe(`wss://127.0.0.1:${tlsPort}/`, '        tls_config:\n          insecure_skip_verify: true\n');
  assert.equal(skip.r.success, true, skip.r.message);
});
