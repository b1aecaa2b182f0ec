// The unix prober against stream socket servers the test runs: blackbox main's example module
// (send PING, expect PONG), expect_bytes with a !!binary send, a refusing path, a silent server.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { runProbe } from '../../src/schedule/run_probe';
import { testRuntime } from '../runtime';

const dir = mkdtempSync(path.join(tmpdir(), 'sonde-unix-'));
const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(name: string, onConn: (c: net.Socket) => void): Promise<string> {
  const p = path.join(dir, name);
  const srv = net.createServer(onConn);
  servers.push(srv);
  await new Promise<void>((resolve) => srv.listen(p, resolve));
  return p;
}

const CONFIG = `
modules:
  unix_socket_ping:
    prober: unix
    timeout: 5s
    unix:
      query_response:
        - send: "PING"
        - expect: "PONG"
  unix_bytes:
    prober: unix
    unix:
      query_response:
        - send: !!binary AAAACATSFi8=
        - expect_bytes: S
`;
const config = loadConfigString(CONFIG, 'unix.yml');
const probe = (target: string, module: string, timeoutSeconds = 5) => runProbe(target, config.modules.get(module)!, { timeoutSeconds, logger: silentLogger, runtime: testRuntime });

test('unix: PING/PONG over a stream socket succeeds; the wrong answer fails with probe_failed_due_to_regex 1', async () => {
  const good = await serve('pong.sock', (c) => c.once('data', () => c.end('PONG\n')));
  const bad = await serve('nope.sock', (c) => c.once('data', () => c.end('NOPE\n')));
  const ok = await probe(good, 'unix_socket_ping');
  assert.deepEqual([ok.success, ok.reason], [true, undefined], ok.message);
  assert.match(renderProbe(ok, config.modules.get('unix_socket_ping')!).metricsSync(), /^probe_failed_due_to_regex 0$/m);
  const ko = await probe(bad, 'unix_socket_ping');
  assert.deepEqual([ko.success, ko.reason], [false, 'expect_mismatch']);
  assert.match(renderProbe(ko, config.modules.get('unix_socket_ping')!).metricsSync(), /^probe_failed_due_to_regex 1$/m);
});

test('unix: expect_bytes after a !!binary send (the PostgreSQL SSLRequest of blackbox\'s example)', async () => {
  const seen: Buffer[] = [];
  const mk = (reply: string) => (c: net.Socket) =>
    c.once('data', (d: Buffer) => {
      seen.push(d);
      c.end(reply);
    });
  const s = await serve('pg-s.sock', mk('S'));
  const n = await serve('pg-n.sock', mk('N'));
  const ok = await probe(s, 'unix_bytes');
  assert.equal(ok.success, true, ok.message);
  assert.deepEqual(seen[0], Buffer.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f, 0x0a]), 'the decoded bytes and "\\n", as blackbox sends them');
  const ko = await probe(n, 'unix_bytes');
  assert.deepEqual([ko.success, ko.reason], [false, 'expect_mismatch']);
  assert.match(renderProbe(ko, config.modules.get('unix_bytes')!).metricsSync(), /^probe_failed_due_to_bytes 1$/m);
});

test('unix: no socket at the path fails with reason refused; a silent server ends at the deadline', async () => {
  const none = await probe(path.join(dir, 'absent.sock'), 'unix_socket_ping');
  assert.deepEqual([none.success, none.reason], [false, 'refused']);
  const silent = await serve('silent.sock', () => undefined);
  const r = await probe(silent, 'unix_socket_ping', 1);
  assert.deepEqual([r.success, r.reason], [false, 'timeout'], r.message);
});
