// /probe answers as blackbox's handler gives them: debug=true has the probe's logs, the metrics
// and the module configuration (DebugOutput's three parts); probe_timeout_seconds is the timeout.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import { serveProbe } from '../../src/api/probe_handler';
import { loadConfigString } from '../../src/config/load';
import { testProbeDeps } from '../lab/probe_deps';

const config = loadConfigString(
  'modules:\n  banner:\n    prober: tcp\n    timeout: 3s\n    tcp:\n      query_response:\n        - expect: "^SSH-2.0-"\n',
  'debug.yml',
);
const deps = testProbeDeps(config);
let server: net.Server;
let port = 0;
before(async () => {
  server = net.createServer((c) => c.end('220 not ssh\r\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
after(() => server.close());

test('debug=true: the probe\'s logs, the metrics that would have been returned, the module as YAML', async () => {
  const a = await serveProbe(deps, { module: 'banner', target: `127.0.0.1:${port}`, debug: true, hostname: null }, undefined, { client: '127.0.0.1' });
  assert.equal(a.status, 200);
  const [logs, rest] = String(a.body).split('\n\n\nMetrics that would have been returned:\n');
  const [metrics, yaml] = rest.split('\n\n\nModule configuration:\n');
  assert.match(logs, /^Logs for the probe:\n/);
  assert.match(logs, /"msg":"Beginning probe"/);
  assert.match(logs, /"reason":"expect_mismatch".*"msg":"Probe failed"/);
  assert.match(metrics, /^probe_success 0$/m);
  assert.match(metrics, /^probe_failed_due_to_regex 1$/m);
  assert.match(metrics, /^probe_timeout_seconds 3$/m, 'the module timeout is the probe timeout without a scrape header');
  assert.match(yaml, /^prober: tcp$/m);
  assert.match(yaml, /expect: \^SSH-2\.0-/);
});

test('without debug: the metrics alone, with probe_timeout_seconds from the scrape header less the offset', async () => {
  const a = await serveProbe(deps, { module: 'banner', target: `127.0.0.1:${port}`, debug: false, hostname: null }, '2', { client: '127.0.0.1' });
  assert.equal(a.status, 200);
  // The series travel as a registry the door renders (body '' then).
  const text = a.series ? a.series.metricsSync() : String(a.body);
  assert.doesNotMatch(text, /Logs for the probe/);
  assert.match(text, /^probe_timeout_seconds \d/m);
});
