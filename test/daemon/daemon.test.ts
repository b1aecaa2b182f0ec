// The daemon as an operator runs it: READY=1 once listening, /metrics, /probe, reload by SIGHUP
// and by POST /-/reload (a bad config keeps the old one), STOPPING=1 and a clean exit on SIGTERM.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { get, metric, startDaemon } from '../lab/daemon';
import { NotifyListener } from '../lab/notify';
import { until } from '../lab/wait';

async function tcpServer(): Promise<{ port: number; accepted: () => number; close: () => void }> {
  let n = 0;
  const srv = net.createServer((s) => {
    n++;
    // tcp_connect ends with RST by default (reset_on_close): the server side sees ECONNRESET.
    s.on('error', () => undefined);
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, accepted: () => n, close: () => srv.close() };
}

function config(port: number, extraTask = ''): string {
  return `modules:
  tcp_connect:
    prober: tcp
    timeout: 2s
    tcp:
      preferred_ip_protocol: ip4
tasks:
  - name: local_tcp
    module: tcp_connect
    targets: ["127.0.0.1:${port}"]
    interval: 500ms
    timeout: 450ms
${extraTask}`;
}

test('daemon lifecycle: ready, metrics, probe, reloads, graceful stop', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-daemon-'));
  const cfgFile = path.join(dir, 'sonde.yml');
  const target = await tcpServer();
  writeFileSync(cfgFile, config(target.port));
  const notify = await NotifyListener.start(path.join(dir, 'notify.sock'));
  const d = await startDaemon(['--config', cfgFile], { NOTIFY_SOCKET: path.join(dir, 'notify.sock') });
  try {
    const ready = await notify.waitFor('READY=1');
    assert.match(ready, /STATUS=probing 1 tasks, listening on 127\.0\.0\.1:\d+/);
    assert.equal((await get(d.port, '/-/healthy')).text, 'Healthy\n');
    assert.equal((await get(d.port, '/-/ready')).status, 200);

    const successes = await until('five successful probes', async () => {
      const v = metric((await get(d.port, '/metrics')).text, 'sonde_probes_total{task="local_tcp",result="success"}');
      return v !== undefined && v >= 5 ? v : undefined;
    });
    assert.ok(target.accepted() >= successes, 'every counted success is a real connection');
    const m = (await get(d.port, '/metrics')).text;
    assert.equal(metric(m, 'sonde_probe_success{task="local_tcp",target="127.0.0.1:' + target.port + '"}'), 1);
    assert.equal(metric(m, 'sonde_config_last_reload_successful'), 1);
    assert.match(m, /^nodejs_eventloop_lag_seconds /m);
    assert.match(m, /^sonde_probe_duration_seconds_bucket\{le="0.001",task="local_tcp",phase="connect"\} \d+/m);

    const probe = await get(d.port, `/probe?module=tcp_connect&target=127.0.0.1:${target.port}`);
    assert.equal(probe.status, 200);
    assert.equal(metric(probe.text, 'probe_success'), 1);
    assert.deepEqual(await get(d.port, '/probe?module=nope&target=x'), { status: 400, text: 'Unknown module "nope"\n' });
    assert.deepEqual(await get(d.port, '/probe?module=tcp_connect'), { status: 400, text: 'Target parameter is missing\n' });

    // A bad config on SIGHUP: the gauge drops to 0 and the old tasks keep running.
    writeFileSync(cfgFile, config(target.port).replace('interval: 500ms', 'interval: soon'));
    d.child.kill('SIGHUP');
    await until('reload failure', async () => (metric((await get(d.port, '/metrics')).text, 'sonde_config_last_reload_successful') === 0 ? true : undefined));
    const before = target.accepted();
    await until('probing to go on', async () => (target.accepted() >= before + 3 ? true : undefined));

    // A good config through the API adds a task.
    writeFileSync(cfgFile, config(target.port, `  - name: second\n    module: tcp_connect\n    targets: ["127.0.0.1:${target.port}"]\n    interval: 500ms\n    timeout: 450ms\n`));
    assert.deepEqual(await get(d.port, '/-/reload', { method: 'POST' }), { status: 200, text: 'OK\n' });
    await until('the new task to report', async () => (metric((await get(d.port, '/metrics')).text, 'sonde_probes_total{task="second",result="success"}') ? true : undefined));
    assert.equal(metric((await get(d.port, '/metrics')).text, 'sonde_config_last_reload_successful'), 1);
    assert.equal((await get(d.port, '/-/reload')).status, 405);

    d.child.kill('SIGTERM');
    await notify.waitFor('STOPPING=1');
    assert.equal(await d.exited, 0);
  } finally {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
    notify.close();
    target.close();
  }
});

test('a bad config at start exits 1 with the error and never reports READY', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-daemon-'));
  const cfgFile = path.join(dir, 'bad.yml');
  writeFileSync(cfgFile, 'modules:\n  x:\n    prober: nope\n');
  await assert.rejects(startDaemon(['--config', cfgFile]), /sonde exited with 1 before listening:\n.*bad\.yml:3:13: modules\.x\.prober/s);
});

test('a daemon whose log reader is gone keeps running, counts the lost lines and still stops on SIGTERM', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-daemon-'));
  const cfgFile = path.join(dir, 'sonde.yml');
  const target = await tcpServer();
  writeFileSync(cfgFile, config(target.port));
  const d = await startDaemon(['--config', cfgFile]);
  try {
    d.child.stderr?.destroy(); // as when journald restarts or the parent that read the logs exits
    assert.equal((await get(d.port, '/-/reload', { method: 'POST' })).status, 200); // logs a line at info
    await until('the lost line to be counted', async () => ((metric((await get(d.port, '/metrics')).text, 'sonde_log_lines_dropped_total') ?? 0) >= 1 ? true : undefined));
    d.child.kill('SIGTERM');
    const code = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('still running'), 60_000).unref())]);
    assert.equal(code, 0);
  } finally {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
    target.close();
  }
});
