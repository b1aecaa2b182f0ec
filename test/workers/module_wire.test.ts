// A module crosses to a worker thread as structured-clone data and is rebuilt there by config code:
// its regular expressions keep the Go text messages quote, bytes stay Buffers, CEL rules compile
// again, and a field that cannot travel is a typed error naming it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import { regexText } from '../../src/config/regex';
import type { Module } from '../../src/config/types';
import { ModuleWireError, moduleFromWire, moduleToWire } from '../../src/workers/module_wire';

const cfg = loadConfigString(
  `modules:
  rules:
    prober: http
    http:
      fail_if_body_matches_regexp: ["(?i)error \\\\d+"]
      fail_if_body_json_matches_cel: "body.down == true"
  dialogue:
    prober: tcp
    tcp:
      query_response:
        - expect_bytes: !!binary AAEC
        - expect: "^SSH-2.0-"
`,
  'wire.yml',
);

/** A copy as postMessage makes it: what a worker receives. */
const cloned = (m: Module): Module => moduleFromWire(structuredClone(moduleToWire(m)));

test('regular expressions keep their Go text and behaviour', () => {
  const m = cloned(cfg.modules.get('rules')!);
  const [re] = m.http.fail_if_body_matches_regexp;
  assert.ok(re instanceof RegExp);
  assert.equal(regexText(re), '(?i)error \\d+');
  assert.ok(re.test('An ERROR 42 happened'));
});

test('a CEL rule is compiled again and evaluates', () => {
  const m = cloned(cfg.modules.get('rules')!);
  assert.equal(m.http.fail_if_body_json_matches_cel?.expression, 'body.down == true');
  assert.equal(m.http.fail_if_body_json_matches_cel?.eval({ down: true }), true);
});

test('bytes stay a Buffer; the rest of the module is equal', () => {
  const orig = cfg.modules.get('dialogue')!;
  const m = cloned(orig);
  const bytes = m.tcp.query_response[0].expect_bytes;
  assert.ok(Buffer.isBuffer(bytes));
  assert.deepEqual([...bytes], [0, 1, 2]);
  assert.equal(regexText(m.tcp.query_response[1].expect!), '^SSH-2.0-');
  assert.deepEqual({ ...m, tcp: undefined }, { ...orig, tcp: undefined });
});

test('a function field is refused with its path', () => {
  const m = { ...cfg.modules.get('dialogue')!, hook: () => 1 } as unknown as Module;
  assert.throws(() => moduleToWire(m), (e: unknown) => e instanceof ModuleWireError && /modules\.dialogue\.hook is a function/.test(e.message));
});
