// The grpc prober against grpc-js health servers the test runs on loopback: plain and TLS, the
// service name and metadata sent, each serving status, a refused port, and blackbox's series.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { decodeResponse, encodeRequest } from '../../src/probers/grpc/health';
import { runProbe } from '../../src/schedule/run_probe';
import { makePKI, type PKI } from '../lab/pki';
import { testRuntime } from '../runtime';
import { HEALTH } from '../lab/grpc_health';

/** HealthCheckRequest's service field (field 1, a string), decoded by hand as the prober encodes it. */
function serviceOf(b: Buffer): string {
  return b.length === 0 ? '' : b.subarray(2, 2 + b[1]).toString('utf8');
}
/** HealthCheckResponse { status = n } */
const response = (n: number): Buffer => Buffer.from([0x08, n]);

const STATUS: Record<string, number> = { up: 1, down: 2, gone: 3 };
const seen: Array<{ service: string; token: string[] }> = [];

function healthServer(): grpc.Server {
  const server = new grpc.Server();
  server.addService(HEALTH, {
    Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const service = serviceOf(call.request);
      seen.push({ service, token: call.metadata.get('x-token').map(String) });
      if (service === 'missing') cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else cb(null, response(service === '' ? 1 : (STATUS[service] ?? 0)));
    },
  });
  return server;
}

function bind(server: grpc.Server, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, port) => (err ? reject(err) : resolve(port))));
}

let dir: string;
let pki: PKI;
let plain: grpc.Server;
let secure: grpc.Server;
let plainPort = 0;
let tlsPort = 0;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sonde-grpc-'));
  pki = await makePKI(dir);
  plain = healthServer();
  plainPort = await bind(plain, grpc.ServerCredentials.createInsecure());
  secure = healthServer();
  const leaf = pki.leaves.valid;
  tlsPort = await bind(secure, grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(leaf.key), cert_chain: Buffer.from(leaf.cert) }]));
});
after(() => {
  plain.forceShutdown();
  secure.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

const yaml = (grpcSection: string) => `modules:\n  m:\n    prober: grpc\n    grpc:\n${grpcSection}`;
async function probe(target: string, grpcSection: string) {
  const module = loadConfigString(yaml(grpcSection), 'grpc.yml').modules.get('m')!;
  const r = await runProbe(target, module, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
  return { r, text: renderProbe(r, module).metricsSync() };
}

test('grpc health messages encode and decode as grpc_health_v1 does', () => {
  assert.deepEqual(encodeRequest(''), Buffer.alloc(0));
  assert.deepEqual(encodeRequest('svc'), Buffer.from([0x0a, 3, 0x73, 0x76, 0x63]));
  assert.equal(decodeResponse(Buffer.from([0x08, 2])), 2);
  assert.equal(decodeResponse(Buffer.from([0x12, 1, 0x41, 0x08, 1])), 1, 'an unknown field before status is skipped');
});

test('grpc: each serving status, the service and metadata sent, and blackbox\'s series', async () => {
  const cases = [
    { desc: 'the server as a whole (service "") serves', service: '', success: true, status: 'SERVING', code: 0 },
    { desc: 'a serving service', service: 'up', success: true, status: 'SERVING', code: 0 },
    { desc: 'NOT_SERVING fails', service: 'down', success: false, status: 'NOT_SERVING', code: 0 },
    { desc: 'SERVICE_UNKNOWN fails', service: 'gone', success: false, status: 'SERVICE_UNKNOWN', code: 0 },
    { desc: 'a gRPC error status fails with its code', service: 'missing', success: false, status: undefined, code: 5 },
  ];
  for (const c of cases) {
    seen.length = 0;
    const { r, text } = await probe(`127.0.0.1:${plainPort}`, `      service: ${JSON.stringify(c.service)}\n      preferred_ip_protocol: ip4\n      metadata:\n        x-token: [abc]\n`);
    assert.equal(r.success, c.success, `${c.desc}: ${r.message}`);
    if (!c.success) assert.equal(r.reason, 'grpc_not_serving', c.desc);
    assert.deepEqual(seen, [{ service: c.service, token: ['abc'] }], c.desc);
    assert.match(text, new RegExp(`^probe_grpc_status_code ${c.code}$`, 'm'), c.desc);
    for (const s of ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN']) {
      assert.match(text, new RegExp(`^probe_grpc_healthcheck_response\\{serving_status="${s}"\\} ${s === c.status ? 1 : 0}$`, 'm'), `${c.desc}: ${s}`);
    }
    assert.match(text, /^probe_grpc_duration_seconds\{phase="check"\} /m);
    assert.match(text, /^probe_grpc_ssl 0$/m);
    assert.match(text, /^probe_ip_protocol 4$/m);
  }
});

test('grpc over TLS: verified against the CA, the chain reported (with serialnumber); an untrusted server fails', async () => {
  const { r, text } = await probe(`127.0.0.1:${tlsPort}`, `      tls: true\n      preferred_ip_protocol: ip4\n      tls_config:\n        ca_file: ${pki.ca.certPath}\n`);
  assert.equal(r.success, true, r.message);
  assert.match(text, /^probe_grpc_ssl 1$/m);
  assert.match(text, new RegExp(`^probe_ssl_earliest_cert_expiry ${pki.leaves.valid.notAfter}$`, 'm'));
  assert.match(text, new RegExp(`^probe_ssl_last_chain_info\\{.*serialnumber="${pki.leaves.valid.serialNumber.toLowerCase()}".*\\} 1$`, 'm'));
  const untrusted = await probe(`127.0.0.1:${tlsPort}`, '      tls: true\n      preferred_ip_protocol: ip4\n');
  assert.equal(untrusted.r.success, false);
  assert.equal(untrusted.r.reason, 'cert_untrusted', untrusted.r.message);
  const skip = await probe(`127.0.0.1:${tlsPort}`, '      tls: true\n      preferred_ip_protocol: ip4\n      tls_config:\n        insecure_skip_verify: true\n');
  assert.equal(skip.r.success, true, skip.r.message);
});

test('grpc: a closed port fails with reason refused; only the resolve phase when the target does not resolve', async () => {
  const { r } = await probe('127.0.0.1:1', '      preferred_ip_protocol: ip4\n');
  assert.deepEqual([r.success, r.reason], [false, 'refused'], r.message);
  // An IPv4 literal with IPv6 required: a resolve failure without any DNS query.
  const bad = await probe(`127.0.0.1:${plainPort}`, '      preferred_ip_protocol: ip6\n      ip_protocol_fallback: false\n');
  assert.deepEqual([bad.r.success, bad.r.reason], [false, 'dns_nxdomain']);
  assert.doesNotMatch(bad.text, /phase="check"/);
  assert.doesNotMatch(bad.text, /probe_grpc_healthcheck_response\{/);
});
