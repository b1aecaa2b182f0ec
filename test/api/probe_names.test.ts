// Module names are looked up in a Map: a name every JavaScript object answers to is an unknown
// module on /probe, never Object.prototype's member; and header names from the config or the
// server stay plain fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serveProbe } from '../../src/api/probe_handler';
import { loadConfigString } from '../../src/config/load';
import { parseHead } from '../../src/probers/fast';
import { testProbeDeps } from '../lab/probe_deps';

const config = loadConfigString('modules:\n  tcp_connect:\n    prober: tcp\n', 'names.yml');
const deps = testProbeDeps(config);

for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
  test(`/probe?module=${name} is an unknown module`, async () => {
    const a = await serveProbe(deps, { module: name, target: '127.0.0.1:9', debug: false, hostname: null }, undefined, { client: '127.0.0.1' });
    assert.equal(a.status, 400);
    assert.equal(a.body, `Unknown module "${name}"\n`);
  });
}

test('a header named __proto__ in a module is a header like any other', () => {
  const c = loadConfigString('modules:\n  h:\n    prober: http\n    http:\n      headers:\n        __proto__: x\n        constructor: y\n', 'h.yml');
  const headers = c.modules.get('h')?.http.headers ?? {};
  assert.deepEqual(Object.entries(headers), [
    ['__proto__', 'x'],
    ['constructor', 'y'],
  ]);
});

test('response fields named __proto__ or constructor are fields, and absent ones are absent', () => {
  const h = parseHead('HTTP/1.1 200 OK\r\n__proto__: a\r\nX: b');
  assert.deepEqual(Object.entries(h), [
    ['__proto__', 'a'],
    ['x', 'b'],
  ]);
  assert.equal(h.constructor, undefined);
});
