// Every module of blackbox's example.yml (v0.23, v0.24, v0.26, v0.27, v0.28 and main, under
// test/fixtures/blackbox/examples) and of Debian's blackbox.yml (two grpc modules) loads and runs:
// each is probed against servers this test runs on loopback (HTTP, a token server, TCP, a unix
// socket, a websocket, a gRPC health server, a DNS responder) and must
// reach a verdict of its own, never "config", "unsupported" or "internal". Paths and URLs of files
// and hosts the examples name are pointed at the test's own (rewritten in the text, nothing else).
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { runProbe } from '../../src/schedule/run_probe';
import { makePKI, type PKI } from '../lab/pki';
import { startResponder, type Responder } from '../probers/dns_responder';
import { testRuntime } from '../runtime';

const EXAMPLES = path.resolve(__dirname, '../../../test/fixtures/blackbox/examples');
const closers: Array<() => unknown> = [];
let dir: string;
let pki: PKI;
let dns: Responder;
const ports: Record<'http' | 'tcp' | 'ws' | 'token' | 'grpc', number> = { http: 0, tcp: 0, ws: 0, token: 0, grpc: 0 };
let unixPath = '';

async function listen(server: net.Server, where?: string): Promise<number> {
  closers.push(() => server.close());
  if (where) {
    await new Promise<void>((resolve) => server.listen(where, resolve));
    return 0;
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sonde-examples-'));
  pki = await makePKI(dir);
  writeFileSync(path.join(dir, 'body.txt'), '{}');
  writeFileSync(path.join(dir, 'api-key.txt'), 'k3y\n');
  const web = http.createServer((_req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.end('{"foo": "bar", "baz": "qux"} Download the latest version here');
  });
  ports.http = await listen(web);
  ports.token = await listen(http.createServer((_req, res) => res.setHeader('content-type', 'application/json').end('{"access_token":"t","expires_in":60}')));
  // Says a line and closes: every dialogue ends at once, matched or not.
  const banner = (c: net.Socket) => {
    c.on('error', () => undefined);
    c.end('220 sonde ESMTP test\r\n');
  };
  ports.tcp = await listen(net.createServer(banner));
  unixPath = path.join(dir, 'ping.sock');
  await listen(net.createServer((c) => c.once('data', () => c.end('PONG\n'))), unixPath);
  const wsHTTP = http.createServer();
  const wss = new WebSocketServer({ server: wsHTTP });
  wss.on('connection', (ws) => {
    ws.send('Hello, sonde"');
    ws.on('message', () => ws.send('Welcome'));
  });
  ports.ws = await listen(wsHTTP);
  closers.push(() => wss.close());
  // A health service answering SERVING (a HealthCheckResponse of status 1) to every Check.
  const g = new grpc.Server();
  const raw = (b: Buffer) => b;
  const check = { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw };
  g.addService({ Check: check }, { Check: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from([0x08, 1])) });
  ports.grpc = await new Promise<number>((resolve, reject) => g.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));
  closers.push(() => g.forceShutdown());
  dns = await startResponder();
  closers.push(() => dns.close());
});
after(async () => {
  for (const c of closers) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** The example's file paths and outside hosts, pointed at this test's. */
function localise(text: string): string {
  return text
    .replaceAll('/files/body.txt', path.join(dir, 'body.txt'))
    .replaceAll('/path/to/api-key.txt', path.join(dir, 'api-key.txt'))
    .replaceAll('/certs/my_cert.crt', pki.ca.certPath)
    .replaceAll('/etc/blackbox_exporter/CA_cert.crt', pki.ca.certPath)
    .replaceAll('https://api.example.com/token', `http://127.0.0.1:${ports.token}/token`);
}

function targetOf(prober: string): string {
  switch (prober) {
    case 'http':
      return `http://127.0.0.1:${ports.http}/`;
    case 'tcp':
      return `127.0.0.1:${ports.tcp}`;
    case 'dns':
      return `127.0.0.1:${dns.port}`;
    case 'icmp':
      return '127.0.0.1';
    case 'unix':
      return unixPath;
    case 'websocket':
      return `ws://127.0.0.1:${ports.ws}/`;
    case 'grpc':
      return `127.0.0.1:${ports.grpc}`;
    default:
      throw new Error(`no target for prober ${prober}`);
  }
}

/** Verdicts that would mean a module of blackbox's cannot run in sonde. */
const NOT_A_VERDICT = new Set(['config', 'unsupported', 'internal']);

const DEBIAN = path.resolve(__dirname, '../../../test/fixtures/config/debian-blackbox.yml');
const files = readdirSync(EXAMPLES).filter((f) => /^example-.*\.yml$/.test(f));

test('the examples of blackbox 0.23, 0.24, 0.26, 0.27, 0.28 and main are all here', () => {
  assert.deepEqual(files.sort(), ['example-HEAD.yml', 'example-v0.23.0.yml', 'example-v0.24.0.yml', 'example-v0.26.0.yml', 'example-v0.27.0.yml', 'example-v0.28.0.yml']);
});

for (const file of [...files, DEBIAN]) {
  test(`${path.basename(file)}: every module loads and runs to a verdict of its own`, async (t) => {
    const config = loadConfigString(localise(readFileSync(path.resolve(EXAMPLES, file), 'utf8')), file);
    assert.ok(config.modules.size >= 10, `${config.modules.size} modules`);
    const verdicts: string[] = [];
    for (const [name, module] of config.modules) {
      // ICMP needs a raw or ping socket; without either the echo engine says so (local_resources).
      const r = await runProbe(targetOf(module.prober), module, { timeoutSeconds: 3, logger: silentLogger, runtime: testRuntime });
      verdicts.push(`${name}: ${r.success ? 'success' : r.reason}`);
      assert.ok(r.success || !NOT_A_VERDICT.has(r.reason ?? ''), `${file} ${name}: ${r.reason}: ${r.message}`);
      // And its /probe answer renders.
      assert.match(renderProbe(r, module).metricsSync(), /^probe_success [01]$/m, `${file} ${name}`);
    }
    assert.equal(verdicts.length, config.modules.size);
    t.diagnostic(verdicts.join('; '));
    // The grpc modules of Debian's file reach the health server: plain succeeds, TLS meets a plain server.
    if (file === DEBIAN) assert.ok(verdicts.includes('grpc_plain: success'), verdicts.join('; '));
  });
}
