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
import tls from 'node:tls';
import { SONDE_BIN } from '../lab/daemon';
import { makePKI } from '../lab/pki';
import { commandNames } from '../../src/cli/main';
import { formatDuration } from '../../src/cli/format';

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

test('--help on every command prints its usage on stdout and exits 0', async () => {
  for (const name of commandNames()) {
    for (const flag of ['--help', '-h']) {
      const r = await sonde([name, flag]);
      assert.equal(r.code, 0, `sonde ${name} ${flag}: exit ${r.code} ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: sonde ${name}\\b`), `sonde ${name} ${flag}`);
      assert.equal(r.stderr, '', `sonde ${name} ${flag}`);
    }
  }
  const top = await sonde(['--help']);
  assert.equal(top.code, 0);
  for (const name of commandNames()) assert.match(top.stdout, new RegExp(`^  ${name} `, 'm'));
});

test('sonde probe takes targets as users write them: HOST:PORT/PATH is http, a non-host is refused without a lookup', async () => {
  const r = await sonde(['probe', `127.0.0.1:${port}/`, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout) as { prober: string; target: string; http: { statusCode: number } };
  assert.deepEqual([o.prober, o.target, o.http.statusCode], ['http', `http://127.0.0.1:${port}/`, 200]);
  assert.equal(r.stderr, `sonde probe: taking 127.0.0.1:${port}/ as http://127.0.0.1:${port}/\n`);
  const tcp = await sonde(['probe', `127.0.0.1:${port}`, '--json']);
  assert.equal((JSON.parse(tcp.stdout) as { prober: string }).prober, 'tcp');
  const cases: Array<[string[], string]> = [
    [['probe', `127.0.0.1:${port}/ok`, '--module', 'tcp_connect'], `sonde probe: "127.0.0.1:${port}/ok" is no target for the tcp module tcp_connect; did you mean http://127.0.0.1:${port}/ok?\n`],
    [['probe', 'no such host'], 'sonde probe: "no such host" is neither an IP address nor a host name; sonde probe takes a URL, HOST:PORT or HOST\n'],
    [['probe', '198.18.0.999'], 'sonde probe: "198.18.0.999" is neither an IP address nor a host name; sonde probe takes a URL, HOST:PORT or HOST\n'],
    [['probe', 'ftp://127.0.0.1/'], 'sonde probe: "ftp://127.0.0.1/": sonde probe takes http:// and https:// URLs, HOST:PORT (tcp) or HOST (icmp)\n'],
    [['probe', '127.0.0.1:70000'], 'sonde probe: "127.0.0.1:70000": port 70000 is not from 1 to 65535\n'],
    [['probe', '127.0.0.1', '--module', '__proto__'], 'sonde probe: --module: got "__proto__", expected one of: '],
  ];
  for (const [args, message] of cases) {
    const e = await sonde(args);
    assert.equal(e.code, 2, args.join(' '));
    assert.ok(e.stderr.startsWith(message), `${args.join(' ')}: ${e.stderr}`);
    assert.equal(e.stderr.trim().split('\n').length, 1, 'one line');
  }
});

test('durations print in the unit that suits them, rounded first', () => {
  const cases: Array<[number, string]> = [
    [0, '0µs'],
    [0.000012, '12µs'],
    [0.000999, '999µs'],
    [0.0009996, '1.0ms'],
    [0.0123, '12.3ms'],
    [0.09996, '100ms'],
    [0.4567, '457ms'],
    [0.9996, '1.00s'],
    [12.34, '12.3s'],
  ];
  for (const [s, text] of cases) assert.equal(formatDuration(s), text, String(s));
});

test('on a TLS failure the phase view shows the connect time as TCP and the handshake as TLS', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-cli-tls-'));
  const pki = await makePKI(dir);
  const srv = tls.createServer({ key: pki.leaves.untrusted.key, cert: pki.leaves.untrusted.cert }, (c) => c.end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const url = `https://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
    const j = await sonde(['probe', url, '--json']);
    assert.equal(j.code, 1);
    const o = JSON.parse(j.stdout) as { reason: string; duration_seconds: number; phases: Record<string, number> };
    assert.equal(o.reason, 'cert_untrusted');
    assert.ok(o.phases.connect > 0, `connect ${o.phases.connect}`);
    assert.ok(o.phases.tls > 0, `the handshake took time until it failed: tls ${o.phases.tls}`);
    assert.ok(o.phases.connect + o.phases.tls <= o.duration_seconds);
    const h = await sonde(['probe', url]);
    const values = /^\[ (.*) \]$/m.exec(h.stdout)?.[1].split('|').map((v) => v.trim());
    assert.ok(values && values.length === 5, h.stdout);
    assert.notEqual(values[2], '0µs', `TLS Handshake column: ${h.stdout}`);
    assert.match(h.stdout, /failed: cert_untrusted/);
  } finally {
    srv.close();
  }
});

test('sonde run on a taken port: one readable line with the errno name, exit 1', async () => {
  const r = await sonde(['run', '--web.listen-address', `127.0.0.1:${port}`, '--no-ebpf']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `sonde run: cannot start on 127.0.0.1:${port}: EADDRINUSE (address already in use)\n`);
});
