// A YAML bomb handed to a running daemon is refused at once, by POST /-/reload and by SIGHUP: the
// answer names the file, the daemon stays responsive and keeps probing with its old config.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { get, metric, startDaemon } from '../lab/daemon';
import { until } from '../lab/wait';

const BOMB = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'config', 'invalid', 'yaml-bomb.yml');

test('a YAML bomb on reload is an error naming the file; the old config keeps running', { timeout: 240_000 }, async () => {
  let accepted = 0;
  const target = net.createServer((s) => {
    accepted++;
    s.on('error', () => undefined);
    s.end();
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const port = (target.address() as net.AddressInfo).port;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bomb-'));
  const cfgFile = path.join(dir, 'sonde.yml');
  writeFileSync(cfgFile, `modules:\n  tcp_connect:\n    prober: tcp\n    tcp: {preferred_ip_protocol: ip4}\ntasks:\n  - {name: t, module: tcp_connect, targets: ["127.0.0.1:${port}"], interval: 500ms, timeout: 450ms}\n`);
  const d = await startDaemon(['--config', cfgFile]);
  try {
    await until('a first success', async () => (metric((await get(d.port, '/metrics')).text, 'sonde_probes_total{task="t",result="success"}') ? true : undefined));
    copyFileSync(BOMB, cfgFile);
    const t0 = performance.now();
    const r = await get(d.port, '/-/reload', { method: 'POST' });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.status, 500);
    assert.match(r.text, /^failed to reload config: .*sonde\.yml:17:10: \(yaml\): aliases expand the document to more than 1000000 nodes/);
    // Expanded, this file took a reloading daemon 26 s; refused, it is a linear walk.
    assert.ok(seconds < 10, `the reload answered after ${seconds.toFixed(1)} s`);
    d.child.kill('SIGHUP');
    await until('the SIGHUP reload to fail', async () => (metric((await get(d.port, '/metrics')).text, 'sonde_config_last_reload_successful') === 0 ? true : undefined));
    assert.equal((await get(d.port, '/-/healthy')).status, 200);
    const before = accepted;
    await until('the old task to probe on', () => (accepted >= before + 3 ? true : undefined));
  } finally {
    d.child.kill('SIGKILL');
    target.close();
  }
});
