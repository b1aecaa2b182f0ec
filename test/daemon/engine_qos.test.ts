// The QoS class of each probe reaches the native engines from the daemon: a task's probes go to
// the stream engine as its task's class, /probe requests as class "probe", and /metrics shows them
// per engine and class (sonde_engine_class_*). The `scheduler:` engine keys apply on a reload. In
// process, against a loopback listener.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Daemon } from '../../src/daemon';
import { silentLogger } from '../../src/log';
import { metric } from '../lab/daemon';
import { until } from '../lab/wait';
import { tcpListener } from '../native/stream_servers';

let srv: net.Server | undefined;
let port = 0;
before(async () => ({ server: srv, port } = await tcpListener()));
after(() => srv?.close());

function yaml(share: number): string {
  return (
    'modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 2s\n    tcp: {preferred_ip_protocol: ip4}\n' +
    `scheduler: {engine_best_effort_share: ${share}, engine_standard_share: 0.9, engine_queue_bound: 100}\n` +
    `tasks:\n  - {name: be, module: tcp_connect, interval: 500ms, timeout: 400ms, qos: best_effort, targets: ["127.0.0.1:${port}"]}\n`
  );
}

function get(p: string, to: number): Promise<string> {
  // node:http without keep-alive: a pooled connection would hold the test process for a minute.
  return new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: to, path: p, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

test('task probes and /probe requests reach the stream engine in their classes, on /metrics', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-qos-'));
  const file = path.join(dir, 'sonde.yml');
  writeFileSync(file, yaml(0.5));
  const d = new Daemon({ configFile: file, listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger, ebpf: false });
  await d.start();
  const at = d.listening?.port as number;
  const started = async (qos: string) => metric(await get('/metrics', at), `sonde_engine_class_started_total{engine="stream",qos="${qos}"}`) ?? 0;
  try {
    await until('the best_effort task probed on the engine', async () => ((await started('best_effort')) >= 1 ? true : undefined));
    const body = await get(`/probe?module=tcp_connect&target=127.0.0.1:${port}`, at);
    assert.match(body, /^probe_success 1$/m);
    assert.equal(await started('probe'), 1, 'the /probe request took a slot as class probe');
    assert.equal(await started('critical'), 0);
    const text = await get('/metrics', at);
    assert.equal(metric(text, 'sonde_engine_class_shed_total{engine="stream",qos="best_effort"}'), 0);
    assert.ok(metric(text, 'sonde_engine_class_held{engine="stream",qos="best_effort"}') !== undefined);
    // A reload with other shares applies to the running engine; the task goes on.
    writeFileSync(file, yaml(0.25));
    assert.deepEqual(await d.reload(), { ok: true });
    const before = await started('best_effort');
    await until('the task probed after the reload', async () => ((await started('best_effort')) > before ? true : undefined));
  } finally {
    await d.stop();
  }
});
