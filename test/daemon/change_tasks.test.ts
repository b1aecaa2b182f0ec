// Daemon.changeTasks and reloads diffed by task: an unchanged task keeps its planned block (not
// re-planned, its counters and rhythm go on), a task added at run time runs, a removed one stops
// and its series go. In process, against a loopback listener.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Task } from '../../src/config/types';
import { Daemon } from '../../src/daemon';
import { silentLogger } from '../../src/log';
import type { TaskBlock } from '../../src/schedule/plan';
import { metric } from '../lab/daemon';
import { until } from '../lab/wait';

let srv: net.Server;
let port = 0;
before(async () => {
  srv = net.createServer((s) => s.on('error', () => undefined).end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  port = (srv.address() as net.AddressInfo).port;
});
after(() => srv.close());

function yaml(extra = ''): string {
  const t = (name: string, interval: string) => `  - {name: ${name}, module: tcp_connect, interval: ${interval}, timeout: 400ms, targets: ["127.0.0.1:${port}"]}\n`;
  return `modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 2s\n    tcp: {preferred_ip_protocol: ip4}\ntasks:\n${t('keep', '500ms')}${t('drop', '500ms')}${extra}`;
}

test('changeTasks adds and removes tasks; a reload leaves unchanged tasks as planned', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-change-'));
  const file = path.join(dir, 'sonde.yml');
  writeFileSync(file, yaml());
  const d = new Daemon({ configFile: file, listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger, ebpf: false });
  await d.start();
  const planned = (name: string) => (d as unknown as { plan: Map<string, TaskBlock> }).plan.get(name);
  // node:http without keep-alive: a pooled fetch connection would hold the test process for a minute.
  const scrape = () =>
    new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: d.listening?.port, path: '/metrics', agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  const probes = async (task: string) => metric(await scrape(), `sonde_probes_total{task="${task}",result="success"}`) ?? 0;
  try {
    await until('keep probed twice', async () => ((await probes('keep')) >= 2 ? true : undefined));
    const keep = planned('keep');
    assert.ok(keep);
    const api: Task = { ...keep.task, name: 'api', interval: 0.5, origin: 'api' };
    d.changeTasks([api], ['drop']);
    assert.equal(planned('keep'), keep, 'a task not named by the change is not touched');
    assert.equal(planned('drop'), undefined);
    await until('the api task probed', async () => ((await probes('api')) >= 1 ? true : undefined));
    let text = await scrape();
    assert.equal(metric(text, 'sonde_task_targets{task="drop"}'), undefined, "a removed task's series go");
    assert.equal(metric(text, 'sonde_task_targets{task="api"}'), 1);
    // The same task again (a new, equal object) is no change.
    const apiBlock = planned('api');
    d.changeTasks([{ ...api, labels: {} }], []);
    assert.equal(planned('api'), apiBlock, 'an equal task keeps its block');
    // A reload: keep unchanged, drop back, a new task; the api task is not in the file.
    const before = await probes('keep');
    writeFileSync(file, yaml(`  - {name: fresh, module: tcp_connect, interval: 500ms, timeout: 400ms, targets: ["127.0.0.1:${port}"]}\n`));
    assert.deepEqual(await d.reload(), { ok: true });
    assert.equal(planned('keep'), keep, 'the unchanged task keeps its block across the reload');
    assert.ok(planned('drop') && planned('fresh'));
    await until('keep probed on after the reload', async () => ((await probes('keep')) > before ? true : undefined));
    text = await scrape();
    assert.ok((metric(text, 'sonde_probes_total{task="keep",result="success"}') ?? 0) > before, 'its counters carry on');
  } finally {
    await d.stop();
  }
});
