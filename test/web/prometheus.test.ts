// A real Prometheus (Debian's package) scrapes sonde through TLS and basic auth: /metrics and a
// /probe job are up, a job with a wrong password is down (401). Everything on loopback.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { startDaemon } from '../lab/daemon';
import { freePort } from '../lab/dns_servers';
import { makePKI } from '../lab/pki';
import { until } from '../lab/wait';

const PROMETHEUS = '/usr/bin/prometheus';

/** The value of `query` in Prometheus now (first series), or undefined while it has none. */
async function query(port: number, q: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
    const v = body.data?.result?.[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  } catch {
    return undefined; // not listening yet
  }
}

test('Prometheus scrapes sonde through TLS and basic auth', { skip: existsSync(PROMETHEUS) ? false : 'prometheus not installed (scripts/setup.sh --test installs it)', timeout: 300_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-prom-'));
  const pki = await makePKI(path.join(dir, 'pki'));
  const webFile = path.join(dir, 'web.yml');
  writeFileSync(
    webFile,
    `tls_server_config:\n  cert_file: ${pki.leaves.valid.certPath}\n  key_file: ${pki.leaves.valid.keyPath}\nbasic_auth_users:\n  prometheus: ${JSON.stringify(bcrypt.hashSync('scrape-me', 4))}\n`,
  );
  writeFileSync(path.join(dir, 'sonde.yml'), 'modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n');
  const target = net.createServer((s) => s.on('error', () => undefined).end());
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  target.unref(); // a failed start must not keep the test process alive
  const targetPort = (target.address() as net.AddressInfo).port;
  const d = await startDaemon(['--config', path.join(dir, 'sonde.yml'), '--no-ebpf', '--web.config.file', webFile]);
  const promPort = await freePort();
  const job = (name: string, password: string, extra = '') => `  - job_name: ${name}
    scheme: https
    tls_config:
      ca_file: ${pki.ca.certPath}
    basic_auth:
      username: prometheus
      password: ${password}
${extra}    static_configs:
      - targets: ["127.0.0.1:${d.port}"]
`;
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
${job('sonde', 'scrape-me')}${job('sonde_probe', 'scrape-me', `    metrics_path: /probe\n    params:\n      module: [tcp_connect]\n      target: ["127.0.0.1:${targetPort}"]\n`)}${job('wrong_password', 'guess')}`,
  );
  const prom = spawn(
    PROMETHEUS,
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let promLog = '';
  prom.stderr.on('data', (b: Buffer) => (promLog += b.toString()));
  const promExited = new Promise<void>((r) => prom.once('exit', () => r()));
  try {
    const up = (jobName: string) => until(`up{job="${jobName}"} in Prometheus (its log: ${promLog.slice(-500)})`, () => query(promPort, `up{job="${jobName}"}`), 120_000);
    assert.equal(await until('up == 1 for /metrics', async () => ((await up('sonde')) === 1 ? 1 : undefined), 120_000), 1);
    assert.equal(await up('sonde_probe'), 1, 'the /probe job is up');
    assert.equal(await until('probe_success', () => query(promPort, 'probe_success{job="sonde_probe"}'), 120_000), 1);
    assert.equal(await up('wrong_password'), 0, 'a wrong password is refused');
    assert.equal(await query(promPort, 'sonde_build_info{job="sonde"}'), 1, 'sonde_build_info scraped through TLS');
  } finally {
    prom.kill('SIGTERM');
    await promExited;
    d.child.kill('SIGTERM');
    await d.exited;
    target.close();
  }
});
