// blackbox's pages on the daemon: / lists modules and recent probes linking to /logs, /logs by id
// and by target (with blackbox's answers to wrong parameters), /config with secrets masked, all
// under --web.route-prefix with "/" redirecting to --web.external-url.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { get, startDaemon } from '../lab/daemon';

const CONFIG = `modules:
  tcp_connect: { prober: tcp, timeout: 5s, tcp: { preferred_ip_protocol: ip4 } }
  http_auth:
    prober: http
    http:
      basic_auth: { username: probe, password: hunter2 }
  http_token:
    prober: http
    http:
      bearer_token: s3cret-token
`;

test('/, /logs and /config under a route prefix', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-pages-'));
  writeFileSync(path.join(dir, 'sonde.yml'), CONFIG);
  const d = await startDaemon(['--config', path.join(dir, 'sonde.yml'), '--no-ebpf', '--web.external-url', 'https://probe.example.test/sonde/', '--history.limit', '2']);
  const target = net.createServer((s) => s.on('error', () => undefined).end());
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const port = (target.address() as net.AddressInfo).port;
  try {
    assert.equal((await get(d.port, '/metrics')).status, 404, 'nothing outside the prefix');
    const root = await fetch(`http://127.0.0.1:${d.port}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), 'https://probe.example.test/sonde');
    assert.equal((await get(d.port, '/sonde/metrics')).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await get(d.port, `/sonde/probe?module=tcp_connect&target=127.0.0.1:${port}`)).status, 200);
    assert.equal((await get(d.port, '/sonde/probe?module=tcp_connect&target=127.0.0.1:1')).status, 200);

    const home = await get(d.port, '/sonde/');
    assert.equal(home.status, 200);
    assert.match(home.text, /<td>http_auth<\/td><td>http<\/td>/, 'modules are listed');
    const links = [...home.text.matchAll(/href="logs\?id=(\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(links, [3, 2], '--history.limit 2: the two newest probes, newest first');
    assert.match(home.text, /127\.0\.0\.1:1<\/td><td><strong>Failure<\/strong>/);

    const byId = await get(d.port, '/sonde/logs?id=2');
    assert.equal(byId.status, 200);
    assert.match(byId.text, /probe_success 1/);
    const byTarget = await get(d.port, '/sonde/logs?target=127.0.0.1:1&module=tcp_connect');
    assert.match(byTarget.text, /probe_success 0/);
    assert.equal((await get(d.port, '/sonde/logs?id=0')).status, 404, 'pushed out of the history');
    const wrong: Array<[string, number, string]> = [
      ['', 400, 'Probe id or target must be defined as http query parameters\n'],
      ['?id=1&target=x', 400, "Probe id and target can't be defined at the same time\n"],
      ['?id=1&module=tcp_connect', 400, 'Probe module filter only works in conjunction with target parameter\n'],
      ['?target=nowhere', 404, 'Probe target not found\n'],
    ];
    for (const [q, status, text] of wrong) assert.deepEqual(await get(d.port, `/sonde/logs${q}`), { status, text }, q);

    const config = await get(d.port, '/sonde/config');
    assert.equal(config.status, 200);
    assert.match(config.text, /password: <secret>/);
    assert.match(config.text, /bearer_token: <secret>/);
    assert.doesNotMatch(config.text, /hunter2|s3cret-token/);
    assert.match(config.text, /username: probe/);
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
    target.close();
  }
});
