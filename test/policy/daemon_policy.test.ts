// probe_policy on the daemon: a refused /probe is a 403 with the reason, counted in
// sonde_probe_denied_total{reason}; an allowed one probes. Without a config file the built-in
// policy lets /probe reach loopback only. blackbox_module_unknown_total counts unknown modules.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { get, metric, startDaemon } from '../lab/daemon';

test('/probe under probe_policy: refused with 403 and counted, allowed targets probed', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-policy-'));
  const target = net.createServer((s) => s.on('error', () => undefined).end());
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  target.unref(); // a failed start must not keep the test process alive
  const port = (target.address() as net.AddressInfo).port;
  writeFileSync(
    path.join(dir, 'sonde.yml'),
    `modules:
  tcp_connect: { prober: tcp, timeout: 5s, tcp: { preferred_ip_protocol: ip4 } }
probe_policy:
  allow: { cidrs: [127.0.0.0/8] }
  deny: { ports: [22] }
`,
  );
  const d = await startDaemon(['--config', path.join(dir, 'sonde.yml'), '--no-ebpf']);
  try {
    const ok = await get(d.port, `/probe?module=tcp_connect&target=127.0.0.1:${port}`);
    assert.equal(ok.status, 200);
    assert.match(ok.text, /^probe_success 1$/m);
    const outside = await get(d.port, '/probe?module=tcp_connect&target=198.18.0.1:80');
    assert.equal(outside.status, 403);
    assert.equal(outside.text, 'probe refused by probe_policy (not_allowed): 198.18.0.1 is not in the allowed hosts or networks\n');
    const ssh = await get(d.port, '/probe?module=tcp_connect&target=127.0.0.1:22');
    assert.equal(ssh.status, 403);
    assert.match(ssh.text, /\(port_denied\): port 22 is denied/);
    const unknown = await get(d.port, '/probe?module=nope&target=127.0.0.1:22');
    assert.equal(unknown.status, 400);
    const m = (await get(d.port, '/metrics')).text;
    assert.equal(metric(m, 'sonde_probe_denied_total{reason="not_allowed"}'), 1);
    assert.equal(metric(m, 'sonde_probe_denied_total{reason="port_denied"}'), 1);
    assert.equal(metric(m, 'blackbox_module_unknown_total'), 1);
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
    target.close();
  }
});

test('the built-in config lets /probe reach loopback only', { timeout: 180_000 }, async () => {
  const d = await startDaemon(['--no-ebpf']);
  try {
    const self = await get(d.port, `/probe?module=tcp_connect&target=127.0.0.1:${d.port}`);
    assert.equal(self.status, 200);
    assert.match(self.text, /^probe_success 1$/m);
    const away = await get(d.port, '/probe?module=http_2xx&target=http://198.18.0.1/');
    assert.equal(away.status, 403, away.text);
    assert.match(away.text, /not_allowed/);
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
});
