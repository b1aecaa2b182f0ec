// CEL body rules (fail_if_body_json_matches_cel, fail_if_body_json_not_matches_cel) run with
// blackbox's own test cases (test/fixtures/blackbox/cel_cases.json, from its prober/http_test.go)
// against an HTTP server the test runs on loopback.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { runProbe } from '../../src/schedule/run_probe';
import { testRuntime } from '../runtime';

interface Case {
  name: string;
  body: string;
  expression: string;
  success: boolean;
}
const FIXTURE = path.resolve(__dirname, '../../../test/fixtures/blackbox/cel_cases.json');
const cases = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<'fail_if_body_json_matches_cel' | 'fail_if_body_json_not_matches_cel', Case[]>;

let server: http.Server;
let base = '';
before(async () => {
  // The body to answer with is the request path's query, as blackbox's test servers write testcase.respBody.
  server = http.createServer((req, res) => res.end(decodeURIComponent((req.url ?? '').replace(/^\/\?/, ''))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?`;
});
after(() => server.close());

for (const key of ['fail_if_body_json_matches_cel', 'fail_if_body_json_not_matches_cel'] as const) {
  test(`${key}: blackbox's ${cases[key].length} cases`, async () => {
    assert.ok(cases[key].length >= 10);
    for (const c of cases[key]) {
      const config = loadConfigString(`modules:\n  m:\n    prober: http\n    http:\n      ${key}: ${JSON.stringify(c.expression)}\n`, 'cel.yml');
      const module = config.modules.get('m')!;
      const r = await runProbe(base + encodeURIComponent(c.body), module, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
      assert.equal(r.success, c.success, `${c.name}: ${r.message}`);
      if (!c.success) assert.equal(r.reason, 'cel_body', c.name);
      const text = renderProbe(r, module).metricsSync();
      assert.match(text, new RegExp(`^probe_failed_due_to_cel ${c.success ? 0 : 1}$`, 'm'), c.name);
    }
  });
}

test('a CEL expression that does not compile is refused at load; a module without CEL has no probe_failed_due_to_cel', async () => {
  assert.throws(
    () => loadConfigString('modules:\n  m:\n    prober: http\n    http:\n      fail_if_body_json_matches_cel: "body.foo =="\n', 'cel.yml'),
    (e: unknown) => e instanceof ConfigError && /modules\.m\.http\.fail_if_body_json_matches_cel: got "body\.foo ==", expected a CEL expression that compiles/.test(e.message),
  );
  const module = loadConfigString('modules:\n  m:\n    prober: http\n', 'cel.yml').modules.get('m')!;
  const r = await runProbe(`${base}{}`, module, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
  assert.equal(r.success, true, r.message);
  assert.doesNotMatch(renderProbe(r, module).metricsSync(), /probe_failed_due_to_cel/);
});
