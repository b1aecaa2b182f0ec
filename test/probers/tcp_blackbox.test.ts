// sonde's /probe series for the tcp prober against Debian's blackbox_exporter 0.23 probing the same
// loopback servers: the same series names and label names, and the same values where they are
// deterministic. Without the binary, tcp_connect is compared with the captured reference
// test/fixtures/blackbox/tcp_connect.prom (regenerate: SONDE_WRITE_FIXTURES=1 with the binary).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tls from 'node:tls';
import { after, before, test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import type { Module } from '../../src/config/types';
import { probeTCP } from '../../src/probers/tcp/probe';
import { makePKI, type PKI } from '../lab/pki';
import { listen, metric, probeContext, probeText, seriesShapes, smtpServer } from './tcp_helpers';

const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';
const FIXTURE = path.join(__dirname, '../../../test/fixtures/blackbox/tcp_connect.prom');
const haveBlackbox = existsSync(BLACKBOX);

let dir: string;
let pki: PKI;
let child: ChildProcess | undefined;
let bbPort = 0;
const closers: Array<() => Promise<void>> = [];

/**
 * What 0.23 has not: sonde's own series (sonde_*), and what later blackbox releases added:
 * probe_tls_cipher_info, probe_failed_due_to_bytes (0.28), the serialnumber label (0.26).
 */
function blackboxShapes(text: string): string[] {
  return seriesShapes(text.replace(/serialnumber="[0-9a-f]*",/g, ''))
    .filter((s) => !s.startsWith('sonde_') && !s.startsWith('probe_tls_cipher_info') && !s.startsWith('probe_failed_due_to_bytes'));
}

async function freePort(): Promise<number> {
  const { port, close } = await listen(net.createServer(), '127.0.0.1');
  await close();
  return port;
}

async function fetchProbe(module: string, target: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${bbPort}/probe?module=${module}&target=${encodeURIComponent(target)}`);
  assert.equal(res.status, 200);
  return res.text();
}

/** Starts blackbox_exporter on a free loopback port and waits (at most 5 s) until it answers. */
async function startBlackbox(configFile: string): Promise<void> {
  bbPort = await freePort();
  child = spawn(BLACKBOX, [`--config.file=${configFile}`, `--web.listen-address=127.0.0.1:${bbPort}`], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${bbPort}/-/healthy`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('blackbox_exporter did not start within 5 s');
}

const modules: Record<string, Module> = {};
let plainPort = 0;
let tlsPort = 0;
let refusedPort = 0;
let plain6Port = 0;
let smtpPort = 0;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sonde-tcp-bb-'));
  pki = await makePKI(dir);
  const plain = await listen(
    net.createServer((c) => {
      c.on('error', () => undefined);
      c.end('220 not ssh\n');
    }),
    '127.0.0.1',
  );
  const secure = await listen(
    tls.createServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key }, (c) => c.on('error', () => undefined)),
    '127.0.0.1',
  );
  const plain6 = await listen(
    net.createServer((c) => c.on('error', () => undefined)),
    '::1',
  );
  plain6Port = plain6.port;
  closers.push(plain.close, secure.close, plain6.close);
  plainPort = plain.port;
  tlsPort = secure.port;
  refusedPort = await freePort();
  smtpPort = await smtpServer(pki, [], closers);
  // One YAML for both: sonde's loader reads exactly what blackbox_exporter is given.
  const yaml = [
    'modules:',
    '  tcp_connect: {prober: tcp, timeout: 2s}',
    '  ssh_banner: {prober: tcp, timeout: 2s, tcp: {query_response: [{expect: "^SSH-2.0-"}]}}',
    `  tcp_tls: {prober: tcp, timeout: 2s, tcp: {tls: true, tls_config: {ca_file: "${pki.ca.certPath}"}}}`,
    `  smtp_starttls: {prober: tcp, timeout: 2s, tcp: {tls_config: {ca_file: "${pki.ca.certPath}"}, query_response: [`,
    '    {expect: "^220 ", send: "EHLO prober"}, {expect: "^250-STARTTLS", send: "STARTTLS"}, {expect: "^220 ", starttls: true},',
    '    {send: "EHLO prober"}, {expect: "^250 ", send: "QUIT"}]}}',
    '',
  ].join('\n');
  const config = path.join(dir, 'blackbox.yml');
  writeFileSync(config, yaml);
  for (const [name, m] of loadConfigString(yaml, config).modules) modules[name] = m;
  if (!haveBlackbox) return;
  await startBlackbox(config);
});

after(async () => {
  if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
  for (const c of closers) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function sondeText(module: string, target: string): Promise<string> {
  const r = await probeTCP(target, modules[module], probeContext(2));
  return probeText(r, modules[module]);
}

const cases: Array<{ desc: string; module: string; target: () => string; success: number; regex: number; fixture?: boolean }> = [
  { desc: 'tcp_connect to a listening port', module: 'tcp_connect', target: () => `127.0.0.1:${plainPort}`, success: 1, regex: 0, fixture: true },
  { desc: 'tcp_connect to a closed port', module: 'tcp_connect', target: () => `127.0.0.1:${refusedPort}`, success: 0, regex: 0 },
  { desc: 'an SSH banner expect against a non-SSH server', module: 'ssh_banner', target: () => `127.0.0.1:${plainPort}`, success: 0, regex: 1 },
  { desc: 'tcp_connect to ::1', module: 'tcp_connect', target: () => `[::1]:${plain6Port}`, success: 1, regex: 0 },
  { desc: 'an SMTP STARTTLS dialogue', module: 'smtp_starttls', target: () => `127.0.0.1:${smtpPort}`, success: 1, regex: 0 },
  { desc: 'TLS from the start to a trusted server', module: 'tcp_tls', target: () => `127.0.0.1:${tlsPort}`, success: 1, regex: 0 },
];

for (const c of cases) {
  test(`${c.desc}: same series and values as blackbox_exporter`, { skip: haveBlackbox ? false : `${BLACKBOX} not installed` }, async () => {
    const ours = await sondeText(c.module, c.target());
    const theirs = await fetchProbe(c.module, c.target());
    assert.deepEqual(blackboxShapes(ours), blackboxShapes(theirs));
    for (const name of ['probe_success', 'probe_failed_due_to_regex', 'probe_ip_protocol', 'probe_ip_addr_hash', 'probe_ssl_earliest_cert_expiry']) {
      assert.equal(metric(ours, name), metric(theirs, name), name);
    }
    assert.equal(metric(ours, 'probe_success'), c.success);
    assert.equal(metric(ours, 'probe_failed_due_to_regex'), c.regex);
    if (c.fixture && process.env.SONDE_WRITE_FIXTURES === '1') writeFileSync(FIXTURE, theirs);
  });
}

test('tcp_connect series match the captured blackbox_exporter 0.23 reference', async () => {
  const reference = readFileSync(FIXTURE, 'utf8');
  const ours = await sondeText('tcp_connect', `127.0.0.1:${plainPort}`);
  assert.deepEqual(blackboxShapes(ours), blackboxShapes(reference));
  assert.equal(metric(ours, 'probe_ip_addr_hash'), metric(reference, 'probe_ip_addr_hash'));
  assert.equal(metric(reference, 'probe_success'), 1);
});
