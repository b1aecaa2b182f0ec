// The CLI as a user types it: output, JSON shape and exit codes (0 ok, 1 failed probe or invalid
// config, 2 usage error).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SONDE_BIN } from '../lab/daemon';

function sonde(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SONDE_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let server: http.Server;
let port = 0;
before(async () => {
  server = http.createServer((req, res) => {
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'Content-Type': 'text/plain' });
    res.end('hello\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

test('sonde probe URL --json: one object with success, reason, phases and tls; exit 0', async () => {
  const r = await sonde(['probe', `http://127.0.0.1:${port}/`, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout) as { success: boolean; reason: unknown; phases: Record<string, number>; tls: unknown; http: { statusCode: number } };
  assert.equal(o.success, true);
  assert.equal(o.reason, null);
  assert.equal(o.tls, null);
  assert.equal(o.http.statusCode, 200);
  assert.deepEqual(Object.keys(o.phases).sort(), ['connect', 'processing', 'resolve', 'tls', 'transfer']);
  assert.ok(o.phases.connect > 0 && o.phases.connect < 1);
});

test('sonde probe: a failed probe prints its reason and exits 1', async () => {
  const r = await sonde(['probe', `http://127.0.0.1:${port}/missing`]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /HTTP\/1\.1 404/);
  assert.match(r.stdout, /failed: http_status/);
  const tcp = await sonde(['probe', '127.0.0.1:1', '--json']);
  assert.equal(tcp.code, 1);
  assert.equal((JSON.parse(tcp.stdout) as { reason: string }).reason, 'refused');
});

test('sonde probe shows the phase breakdown for a human', async () => {
  const r = await sonde(['probe', `http://127.0.0.1:${port}/`]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /DNS Lookup +TCP Connection +TLS Handshake +Server Processing +Content Transfer/);
  assert.match(r.stdout, /^success in /m);
});

test('usage errors exit 2 and name what was wrong', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['probe'], /sonde probe: expected exactly one target/],
    [['probe', 'x', '--bogus'], /sonde probe: unknown flag --bogus/],
    [['probe', `http://127.0.0.1:${port}/`, '--module', 'nope'], /--module: got "nope", expected one of: /],
    [['run', '--log.level', 'loud'], /--log.level: got "loud", expected one of trace, debug/],
    [['run', '--ebpf.max-flows', '5'], /--ebpf.max-flows: got "5", expected an integer from 1024 to 16777216/],
    [['run', '--probes.max-in-flight', 'lots'], /--probes.max-in-flight: got "lots", expected an integer/],
    [['frobnicate'], /sonde: unknown command "frobnicate"/],
  ];
  for (const [args, message] of cases) {
    const r = await sonde(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('sonde check-config: exit 0 for a valid file, 1 with positions for an invalid one', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-cli-'));
  writeFileSync(path.join(dir, 'ok.yml'), 'modules:\n  m:\n    prober: tcp\ntasks:\n  - name: a\n    module: m\n    targets: ["127.0.0.1:1"]\n');
  writeFileSync(path.join(dir, 'bad.yml'), 'modules:\n  m:\n    prober: icmp\n    icmp:\n      ttl: 300\n');
  const ok = await sonde(['check-config', path.join(dir, 'ok.yml')]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /valid: 1 modules, 1 tasks, 1 targets/);
  const bad = await sonde(['check-config', path.join(dir, 'bad.yml')]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, `${path.join(dir, 'bad.yml')}:5:12: modules.m.icmp.ttl: got 300, expected an integer from 0 to 255\n`);
});
