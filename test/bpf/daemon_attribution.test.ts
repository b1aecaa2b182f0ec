// `sonde run` with eBPF (issue 4): tasks that probe a lab target through an nft drop in the probe
// host's output chain count local_drop verdicts and NETFILTER_DROP egress drops on /metrics, and
// /results carries the attribution of each failed probe. A /probe request the native gateway takes
// is probed the same way: its flow is registered and its failure logged with the attribution.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before } from 'node:test';
import type { Attribution } from '../../src/result';
import { get, metric, startDaemon } from '../lab/daemon';
import { FaultLab, PORTS, TARGET_ADDR } from '../lab/faultlab';
import { isRoot, privilegedTest } from '../lab/privileged';

let lab: FaultLab;
let dir: string;

before(async () => {
  if (!isRoot()) return;
  lab = new FaultLab('sddmn');
  await lab.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-ebpf-daemon-'));
});

after(() => {
  lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const CONFIG = `modules:
  icmp_lab:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
  tcp_lab:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
tasks:
  - name: lab_icmp
    module: icmp_lab
    targets: ["${TARGET_ADDR}"]
    interval: 300ms
    timeout: 250ms
  - name: lab_tcp
    module: tcp_lab
    targets: ["${TARGET_ADDR}:${PORTS.tcp}"]
    interval: 1500ms
    timeout: 1400ms
`;

/** Sum of the series of `name` whose labels include every pair in `labels`. */
function series(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

interface ResultEntry {
  task: string;
  success: boolean;
  reason?: string;
  attribution?: Attribution[];
}

privilegedTest('a daemon task probing through an nft drop counts local_drop verdicts and NETFILTER_DROP egress drops', async () => {
  const cfg = path.join(dir, 'sonde.yml');
  writeFileSync(cfg, CONFIG);
  lab.dropLocal('output', `ip daddr ${TARGET_ADDR} meta l4proto { icmp, tcp }`);
  const d = await startDaemon(['--config', cfg]);
  try {
    const verdict = (t: string, text: string) => series(text, 'sonde_probe_loss_verdict_total', { task: t, verdict: 'local_drop' });
    const drops = (t: string, text: string) => series(text, 'sonde_probe_drops_total', { task: t, reason: 'NETFILTER_DROP', direction: 'egress' });
    // Two readings some probes apart: the counters must be there and must grow.
    const deadline = Date.now() + 90_000; // a bound for a loaded machine: it ends at the second reading
    let first: string | undefined;
    let text = '';
    while (Date.now() < deadline) {
      text = (await get(d.port, '/metrics')).text;
      if (!first && verdict('lab_icmp', text) > 0 && verdict('lab_tcp', text) > 0) first = text;
      else if (first && verdict('lab_icmp', text) > verdict('lab_icmp', first) && verdict('lab_tcp', text) > verdict('lab_tcp', first)) break;
      await sleep(250);
    }
    assert.ok(first, `local_drop verdicts for both tasks on /metrics:\n${text.split('\n').filter((l) => l.startsWith('sonde_probe_')).join('\n')}`);
    for (const task of ['lab_icmp', 'lab_tcp']) {
      assert.ok(verdict(task, text) > verdict(task, first), `${task}: sonde_probe_loss_verdict_total{verdict="local_drop"} grows`);
      assert.ok(drops(task, text) > drops(task, first), `${task}: sonde_probe_drops_total{reason="NETFILTER_DROP",direction="egress"} grows`);
      assert.equal(series(text, 'sonde_probe_loss_verdict_total', { task, verdict: 'path_loss' }), 0, `${task}: no path_loss verdict`);
    }
    const results = JSON.parse((await get(d.port, '/results')).text) as ResultEntry[];
    for (const task of ['lab_icmp', 'lab_tcp']) {
      const r = results.find((e) => e.task === task);
      assert.ok(r && !r.success, `${task} failed`);
      assert.ok(r.attribution && r.attribution.length > 0, `${task} result carries attribution`);
      for (const a of r.attribution) assert.deepEqual({ verdict: a.verdict, reason: a.reason, direction: a.direction }, { verdict: 'local_drop', reason: 'NETFILTER_DROP', direction: 'egress' });
    }
  } finally {
    d.child.kill('SIGTERM');
    const killer = setTimeout(() => d.child.kill('SIGKILL'), 5000);
    await d.exited;
    clearTimeout(killer);
    lab.clearRules();
  }
});

/** One GET on a connection of its own (fetch's pool would reuse one the gateway handed to Node). */
function freshGet(port: number, pathAndQuery: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathAndQuery, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
  });
}

privilegedTest('a /probe request taken by the gateway registers its flow: its failure is attributed and logged once', async () => {
  const cfg = path.join(dir, 'sonde-probe.yml');
  writeFileSync(cfg, CONFIG.replace(/\ntasks:[\s\S]*$/, '\ntasks: []\n'));
  lab.dropLocal('output', `ip daddr ${TARGET_ADDR} meta l4proto tcp`);
  const d = await startDaemon(['--config', cfg, '--log.level', 'debug']);
  try {
    const taken = async () => metric(await freshGet(d.port, '/metrics'), 'sonde_gateway_requests_total{path="gateway"}') ?? 0;
    const before = await taken();
    const target = `${TARGET_ADDR}:${PORTS.tcp}`;
    // A plain query (module and target only): the gateway's fast hand-over, no URL parsing.
    const text = await freshGet(d.port, `/probe?module=tcp_lab&target=${encodeURIComponent(target)}`, { 'X-Prometheus-Scrape-Timeout-Seconds': '2' });
    assert.match(text, /\nprobe_success 0\n/);
    assert.equal((await taken()) - before, 1, 'the gateway took the /probe request');
    let lines: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 100 && lines.length === 0; i++) {
      lines = d.logs.filter((l) => l.msg === 'probe failed' && l.target === target);
      if (lines.length === 0) await sleep(50);
    }
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const attribution = lines[0].attribution as Attribution[] | undefined;
    assert.ok(attribution && attribution.length > 0, JSON.stringify(lines[0]));
    for (const a of attribution) assert.deepEqual({ verdict: a.verdict, reason: a.reason, direction: a.direction }, { verdict: 'local_drop', reason: 'NETFILTER_DROP', direction: 'egress' });
  } finally {
    d.child.kill('SIGTERM');
    const killer = setTimeout(() => d.child.kill('SIGKILL'), 5000);
    await d.exited;
    clearTimeout(killer);
    lab.clearRules();
  }
});
