// sonde's /probe series, family by family, against blackbox 0.28's as its source declares them
// (test/fixtures/blackbox/v0.28-series.json, made by scripts/blackbox_series.py: not a live capture,
// no 0.28 binary being installable here). For each prober, modules run against servers on loopback:
// every probe_* family sonde writes must be one blackbox's prober can write, with its type and label
// names, or be in DIFFERS (each listed in README "What differs" with its reason); every family
// blackbox always writes must be there, and a conditional one (TLS, CEL, Last-Modified, SOA,
// query_response labels) there exactly when its condition holds. The live 0.23 comparisons are
// test/probers/http_comparison.test.ts and tcp_blackbox.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tls from 'node:tls';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { DEFAULT_PROBE_LIMITS, ProbeAdmission } from '../../src/api/admission';
import { loadConfigString } from '../../src/config/load';
import { HealthStage } from '../../src/health/stage';
import { registerProbeRequestMetrics } from '../../src/outputs/gateway_metrics';
import { TaskMetrics } from '../../src/outputs/metrics';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { runProbe } from '../../src/schedule/run_probe';
import { servingHealthServer } from '../lab/grpc_health';
import { makePKI, type PKI } from '../lab/pki';
import { seriesShape } from '../lab/prom_text';
import { until } from '../lab/wait';
import { startResponder, type Responder } from '../probers/dns_responder';
import { testRuntime } from '../runtime';

interface RefSeries {
  name: string;
  type: string;
  labels: string[];
  when: string;
  labels_from?: string;
}
const REF = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'blackbox', 'v0.28-series.json'), 'utf8')) as { probers: Record<string, RefSeries[]>; exporter: RefSeries[] };

/** Families sonde writes that blackbox 0.28's prober does not, by prober: README "What differs" says why. */
const DIFFERS: Record<string, string[]> = {};

/** What may or may not be there whatever the case says: the ICMP reply's hop limit (a raw socket's). */
const MAY = new Set(['hop_limit']);

let pki: PKI;
let dir = '';
const closers: Array<() => void> = [];
let dns: Responder;
const ports: Record<string, number> = {};

async function listen(server: net.Server, where: string | number = 0): Promise<number> {
  closers.push(() => server.close());
  if (typeof where === 'string') await new Promise<void>((r) => server.listen(where, r));
  else await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return typeof where === 'string' ? 0 : (server.address() as net.AddressInfo).port;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-ref-'));
  pki = await makePKI(path.join(dir, 'pki'));
  const page = (_q: http.IncomingMessage, res: http.ServerResponse) => res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT', 'Content-Type': 'application/json' }).end('{"ok":true}');
  ports.http = await listen(http.createServer(page));
  ports.https = await listen(https.createServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key }, page));
  ports.tcp = await listen(net.createServer((s) => s.on('error', () => undefined).end('SSH-2.0-ref\r\n')));
  ports.tls = await listen(tls.createServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key }, (s) => s.on('error', () => undefined).end('hello\r\n')));
  await listen(net.createServer((s) => s.on('error', () => undefined).end('SSH-2.0-unix\r\n')), path.join(dir, 'ref.sock'));
  const ws = http.createServer();
  new WebSocketServer({ server: ws }).on('connection', (c) => c.on('error', () => undefined));
  ports.ws = await listen(ws);
  const g = await servingHealthServer('127.0.0.1:0');
  const gs = await servingHealthServer('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(pki.leaves.valid.key), cert_chain: Buffer.from(pki.leaves.valid.cert) }]));
  closers.push(() => g.server.forceShutdown(), () => gs.server.forceShutdown());
  ports.grpc = g.port;
  ports.grpcs = gs.port;
  dns = await startResponder();
  closers.push(() => void dns.close());
});
after(() => {
  for (const c of closers) c();
});

interface Case {
  what: string;
  prober: string;
  module: () => string;
  target: () => string;
  /** the conditions of blackbox's conditional families that hold here */
  conds: string[];
  /** why the case cannot run here (then skipped with it, and a failure under CI, which runs as root) */
  skip?: () => string | undefined;
}

/** ICMP echo needs root or a group in net.ipv4.ping_group_range. */
function icmpUnavailable(): string | undefined {
  if (process.getuid?.() === 0) return undefined;
  const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number);
  const gid = process.getgid?.() ?? -1;
  return gid >= lo && gid <= hi ? undefined : 'ICMP echo needs root or net.ipv4.ping_group_range to hold this group';
}

const ca = () => `tls_config: { ca_file: ${JSON.stringify(pki.ca.certPath)} }`;
const CASES: Case[] = [
  { what: 'http with Last-Modified', prober: 'http', module: () => '{ preferred_ip_protocol: ip4 }', target: () => `http://127.0.0.1:${ports.http}/`, conds: ['last_modified'] },
  { what: 'https', prober: 'http', module: () => `{ preferred_ip_protocol: ip4, ${ca()} }`, target: () => `https://127.0.0.1:${ports.https}/`, conds: ['tls', 'last_modified'] },
  { what: 'http with a CEL rule', prober: 'http', module: () => '{ preferred_ip_protocol: ip4, fail_if_body_json_not_matches_cel: "body.ok == true" }', target: () => `http://127.0.0.1:${ports.http}/`, conds: ['cel', 'last_modified'] },
  { what: 'tcp connect', prober: 'tcp', module: () => '{ preferred_ip_protocol: ip4 }', target: () => `127.0.0.1:${ports.tcp}`, conds: [] },
  { what: 'tcp with a labelled expect', prober: 'tcp', module: () => '{ preferred_ip_protocol: ip4, query_response: [{ expect: "^SSH-2.0-(\\\\w+)", labels: [{ name: version, value: "${1}" }] }] }', target: () => `127.0.0.1:${ports.tcp}`, conds: ['expect_labels'] },
  { what: 'tcp over TLS', prober: 'tcp', module: () => `{ preferred_ip_protocol: ip4, tls: true, ${ca()} }`, target: () => `127.0.0.1:${ports.tls}`, conds: ['tls'] },
  { what: 'unix', prober: 'unix', module: () => '{ query_response: [{ expect: "^SSH-2.0-" }] }', target: () => path.join(dir, 'ref.sock'), conds: [] },
  { what: 'dns A', prober: 'dns', module: () => '{ query_name: ok.test, preferred_ip_protocol: ip4 }', target: () => `127.0.0.1:${dns.port}`, conds: [] },
  { what: 'dns SOA', prober: 'dns', module: () => '{ query_name: ok.test, query_type: SOA, preferred_ip_protocol: ip4 }', target: () => `127.0.0.1:${dns.port}`, conds: ['soa'] },
  { what: 'grpc', prober: 'grpc', module: () => '{ preferred_ip_protocol: ip4 }', target: () => `127.0.0.1:${ports.grpc}`, conds: [] },
  { what: 'grpc over TLS', prober: 'grpc', module: () => `{ preferred_ip_protocol: ip4, tls: true, ${ca()} }`, target: () => `127.0.0.1:${ports.grpcs}`, conds: ['tls'] },
  { what: 'websocket', prober: 'websocket', module: () => '{ preferred_ip_protocol: ip4 }', target: () => `ws://127.0.0.1:${ports.ws}/`, conds: [] },
  { what: 'icmp', prober: 'icmp', module: () => '{ preferred_ip_protocol: ip4 }', target: () => '127.0.0.1', conds: [], skip: icmpUnavailable },
];

/** family name -> its TYPE and label names, from /probe text */
function families(text: string): Map<string, { type: string; labels: string }> {
  const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
  const out = new Map<string, { type: string; labels: string }>();
  for (const [name, labels] of seriesShape(text)) out.set(name, { type: types.get(name) ?? 'untyped', labels });
  return out;
}

for (const c of CASES) {
  const skip = c.skip?.();
  if (skip && process.env.CI === 'true') {
    test(`blackbox 0.28 series: ${c.what}`, () => assert.fail(`${skip} (CI runs as root)`));
    continue;
  }
  test(`blackbox 0.28 series: ${c.what}`, { skip }, async () => {
    const cfg = loadConfigString(`modules:\n  m: { prober: ${c.prober}, timeout: 10s, ${c.prober}: ${c.module()} }\n`, 'ref.yml');
    const module = cfg.modules.get('m')!;
    const r = await runProbe(c.target(), module, { timeoutSeconds: 10, logger: silentLogger, runtime: testRuntime });
    assert.equal(r.success, true, `${r.reason}: ${r.message}`);
    r.timeoutSeconds = 10;
    const ours = families(await renderProbe(r, module).metrics());
    const ref = REF.probers[c.prober];
    assert.ok(ref, `no reference for ${c.prober}`);
    for (const [name, f] of ours) {
      if (name.startsWith('sonde_')) continue;
      const theirs = ref.find((s) => s.name === name);
      if (!theirs) {
        assert.ok(DIFFERS[c.prober]?.includes(name), `${c.what}: sonde writes ${name}, blackbox 0.28's ${c.prober} prober cannot`);
        continue;
      }
      assert.equal(f.type, theirs.type, `${c.what}: type of ${name}`);
      if (!theirs.labels_from) assert.equal(f.labels, [...theirs.labels].sort().join(','), `${c.what}: label names of ${name}`);
    }
    for (const s of ref) {
      if (MAY.has(s.when)) continue;
      const want = s.when === 'always' || s.when === 'main' || c.conds.includes(s.when);
      assert.equal(ours.has(s.name), want, `${c.what}: ${s.name} (${s.when}) ${want ? 'missing' : 'written although its condition does not hold'}`);
    }
  });
}

test('blackbox 0.28 exporter series: on /metrics under their names, types and label names', async () => {
  const m = new TaskMetrics('0.0.0-test', new HealthStage());
  registerProbeRequestMetrics(m.registry, new ProbeAdmission(DEFAULT_PROBE_LIMITS));
  const ours = families(await m.registry.metrics());
  for (const s of REF.exporter) {
    const f = ours.get(s.name);
    assert.ok(f, `/metrics lacks ${s.name}`);
    assert.equal(f.type, s.type, `type of ${s.name}`);
    // a counter at 0 has no labels to show; blackbox's have none either
    assert.equal(f.labels, [...s.labels].sort().join(','), `label names of ${s.name}`);
  }
});

const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';
/** What 0.23 has not and 0.28 (or main) has: sonde writes those as 0.28 does. */
const as023 = (shape: Map<string, string>) =>
  new Map(
    [...shape]
      .filter(([n]) => !n.startsWith('sonde_') && n !== 'probe_timeout_seconds' && n !== 'probe_failed_due_to_bytes')
      .map(([n, l]) => [n, n === 'probe_ssl_last_chain_info' ? l.replace('serialnumber,', '') : l]),
  );

test('the same families as a live blackbox_exporter 0.23 for dns, grpc and icmp on the same servers', { skip: !existsSync(BLACKBOX) && `${BLACKBOX} is not installed (Debian package prometheus-blackbox-exporter)`, timeout: 120_000 }, async () => {
  const modules: Array<[string, string, string, () => string]> = [
    ['dns_a', 'dns', '{ query_name: ok.test, preferred_ip_protocol: ip4 }', () => `127.0.0.1:${dns.port}`],
    ['dns_soa', 'dns', '{ query_name: ok.test, query_type: SOA, preferred_ip_protocol: ip4 }', () => `127.0.0.1:${dns.port}`],
    ['grpc_plain', 'grpc', '{ preferred_ip_protocol: ip4 }', () => `127.0.0.1:${ports.grpc}`],
    ...(icmpUnavailable() === undefined ? ([['icmp', 'icmp', '{ preferred_ip_protocol: ip4 }', () => '127.0.0.1']] as Array<[string, string, string, () => string]>) : []),
  ];
  const yaml = `modules:\n${modules.map(([name, prober, section]) => `  ${name}: { prober: ${prober}, timeout: 5s, ${prober}: ${section} }\n`).join('')}`;
  const file = path.join(dir, 'blackbox.yml');
  writeFileSync(file, yaml);
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const child = spawn(BLACKBOX, [`--config.file=${file}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  try {
    const base = `http://127.0.0.1:${port}`;
    await until('blackbox_exporter answers', async () => ((await fetch(`${base}/-/healthy`).then((r) => r.ok, () => false)) ? true : undefined), 30_000);
    const cfg = loadConfigString(yaml, 'ref.yml');
    for (const [name, , , target] of modules) {
      const theirs = await (await fetch(`${base}/probe?module=${name}&target=${encodeURIComponent(target())}`)).text();
      assert.match(theirs, /^probe_success 1$/m, `blackbox 0.23 failed ${name}:\n${theirs}`);
      const module = cfg.modules.get(name)!;
      const r = await runProbe(target(), module, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
      assert.equal(r.success, true, `${name}: ${r.reason}: ${r.message}`);
      const expected = seriesShape(theirs);
      // 0.23's grpc prober registers probe_ssl_earliest_cert_expiry on every probe (0 without TLS);
      // 0.28 only after a TLS handshake (blackbox_exporter 9cc59c3, #1338), as sonde does.
      if (name === 'grpc_plain') expected.delete('probe_ssl_earliest_cert_expiry');
      assert.deepEqual(as023(seriesShape(await renderProbe(r, module).metrics())), expected, `${name}: families and label names`);
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
});
