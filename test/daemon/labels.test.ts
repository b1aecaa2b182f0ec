// Task labels reach every output of a running daemon: /metrics, /results and the log lines of
// results and of health transitions (issue 8: they were validated, documented, and dropped).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { get, metric, startDaemon } from '../lab/daemon';
import { until } from '../lab/wait';

async function listening(): Promise<net.Server> {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined); // tcp_connect closes with RST
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return srv;
}

/** A loopback port nothing listens on (bound then closed): connections are refused. */
async function closedPort(): Promise<number> {
  const srv = await listening();
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('task labels are on /metrics, /results and log lines of a running daemon', { timeout: 60_000 }, async () => {
  const srv = await listening();
  const open = `127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
  const closed = `127.0.0.1:${await closedPort()}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-labels-'));
  const cfgFile = path.join(dir, 'sonde.yml');
  writeFileSync(
    cfgFile,
    `modules:
  tcp_connect:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
tasks:
  - name: web
    module: tcp_connect
    targets: ["${open}", "${closed}"]
    interval: 200ms
    timeout: 150ms
    labels: {team: web, note: 'say "hi"'}
  - name: plain
    module: tcp_connect
    targets: ["${open}"]
    interval: 200ms
    timeout: 150ms
`,
  );
  const d = await startDaemon(['--config', cfgFile]);
  try {
    const L = 'task="web",team="web",note="say \\"hi\\""';
    // Each task's first run falls at its own phase of the interval: wait for both tasks.
    const text = await until('both results of web and one of plain counted', async () => {
      const t = (await get(d.port, '/metrics')).text;
      const web = (metric(t, `sonde_probes_total{${L},result="success"}`) ?? 0) >= 1 && (metric(t, `sonde_probes_total{${L},result="failure"}`) ?? 0) >= 1;
      return web && (metric(t, 'sonde_probes_total{task="plain",result="success"}') ?? 0) >= 1 ? t : undefined;
    });
    assert.ok((metric(text, `sonde_probe_failures_total{${L},reason="refused"}`) ?? 0) >= 1);
    assert.equal(metric(text, `sonde_probe_success{${L},target="${open}"}`), 1);
    assert.equal(metric(text, `sonde_target_up{${L},target="${closed}"}`), 0);
    assert.equal(metric(text, `sonde_task_targets_up{${L}}`), 1);
    assert.ok((metric(text, `sonde_probe_duration_seconds_count{${L},phase="total"}`) ?? 0) >= 2);
    assert.ok((metric(text, 'sonde_probes_total{task="plain",result="success"}') ?? 0) >= 1, 'a task without labels gets none');

    const results = JSON.parse((await get(d.port, '/results?task=web')).text) as Array<Record<string, unknown>>;
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.deepEqual(r.labels, { team: 'web', note: 'say "hi"' });
      assert.equal((r.health as { up: boolean }).up, r.target === open);
    }

    const down = await until('the transition line', () => d.logs.find((l) => l.msg === 'target down: refused'));
    assert.deepEqual([down.task, down.target, down.reason, down.labels], ['web', closed, 'refused', { team: 'web', note: 'say "hi"' }]);
    const failed = d.logs.find((l) => l.msg === 'probe failed: refused');
    assert.deepEqual(failed?.labels, { team: 'web', note: 'say "hi"' });
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);
  } finally {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
    srv.close();
  }
});
