// Answers as blackbox 0.28 gives them, on servers the test runs on loopback: a failed lookup shows
// probe_ip_protocol and probe_ip_addr_hash at 0 and only the resolve phase; a 204 has content
// length 0; probe_timeout_seconds (blackbox main) is the probe's timeout.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { runProbe } from '../../src/schedule/run_probe';
import { testRuntime } from '../runtime';

let server: http.Server;
let port = 0;
before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/204') res.writeHead(204).end();
    else res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

async function probe(target: string, section = '      preferred_ip_protocol: ip4\n') {
  const m = loadConfigString(`modules:\n  m:\n    prober: http\n    http:\n${section}`, 'p.yml').modules.get('m')!;
  const r = await runProbe(target, m, { timeoutSeconds: 4, logger: silentLogger, runtime: testRuntime });
  return { r, text: renderProbe(r, m).metricsSync() };
}

test('a failed lookup: probe_ip_protocol 0, probe_ip_addr_hash 0, only the resolve phase', async () => {
  // An IPv4 literal with IPv6 required: the lookup fails without any DNS query.
  const { r, text } = await probe(`http://127.0.0.1:${port}/`, '      preferred_ip_protocol: ip6\n      ip_protocol_fallback: false\n');
  assert.deepEqual([r.success, r.reason], [false, 'dns_nxdomain']);
  assert.match(text, /^probe_ip_protocol 0$/m);
  assert.match(text, /^probe_ip_addr_hash 0$/m);
  assert.deepEqual(text.match(/^probe_http_duration_seconds\{[^}]*\}/gm), ['probe_http_duration_seconds{phase="resolve"}']);
});

test('a 204 reports content length 0; a success has every phase', async () => {
  const { r, text } = await probe(`http://127.0.0.1:${port}/204`);
  assert.equal(r.success, true, r.message);
  assert.match(text, /^probe_http_content_length 0$/m);
  assert.equal(text.match(/^probe_http_duration_seconds\{/gm)?.length, 5);
});

test('probe_timeout_seconds is written when the probe says its timeout (/probe sets it)', async () => {
  const { r } = await probe(`http://127.0.0.1:${port}/`);
  const m = loadConfigString('modules:\n  m:\n    prober: http\n', 'p.yml').modules.get('m')!;
  assert.doesNotMatch(renderProbe(r, m).metricsSync(), /probe_timeout_seconds/);
  assert.match(renderProbe({ ...r, timeoutSeconds: 4.5 }, m).metricsSync(), /^probe_timeout_seconds 4\.5$/m);
});
