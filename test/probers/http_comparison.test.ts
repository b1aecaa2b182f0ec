// Drop-in check: for http_2xx (plain and TLS), sonde's /probe series names and label names are
// exactly blackbox_exporter's. Runs Debian's blackbox_exporter 0.23 against the same local servers
// when it is installed; always compares with the reference captured from it under
// test/fixtures/blackbox/ (SONDE_UPDATE_FIXTURES=1 rewrites those from the live binary).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Module } from '../../src/config/types';
import { makePKI, type PKI } from '../lab/pki';
import { assertSameSeries, samples } from '../lab/prom_text';
import { httpModule, httpServer, httpsServer, type LocalServer, probe, render } from './http_lab';

const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'blackbox');
/** Series sonde adds beyond blackbox 0.23: its own, and later blackbox releases' cipher info. */
const EXTRA = (name: string) => name.startsWith('sonde_') || name === 'probe_tls_cipher_info';
/** blackbox 0.26 added serialnumber to probe_ssl_last_chain_info; the 0.23 reference has none. */
const as023 = (sonde: string) => sonde.replace(/serialnumber="[0-9a-f]*",/g, '');
const assertSameShape = (sonde: string, blackbox: string, what: string) => assertSameSeries(as023(sonde), blackbox, what, EXTRA);

/** Series whose values do not depend on timing: they must be equal, label values included. */
const STABLE = [
  'probe_http_status_code',
  'probe_http_content_length',
  'probe_http_uncompressed_body_length',
  'probe_http_ssl',
  'probe_http_version',
  'probe_http_redirects',
  'probe_http_last_modified_timestamp_seconds',
  'probe_ip_protocol',
  'probe_ssl_earliest_cert_expiry',
  'probe_ssl_last_chain_expiry_timestamp_seconds',
  'probe_ssl_last_chain_info',
  'probe_tls_version_info',
];

function assertSameValues(sonde: string, blackbox: string, what: string): void {
  for (const name of STABLE) {
    assert.deepEqual(samples(as023(sonde), name), samples(blackbox, name), `${what}: values of ${name}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pki: PKI;
let plain: LocalServer;
let secure: LocalServer;
let bbModule: Module;

before(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-cmp-'));
  pki = await makePKI(dir);
  const handler = (_req: unknown, res: import('node:http').ServerResponse) => {
    res.setHeader('Last-Modified', 'Wed, 21 Oct 2015 07:28:00 GMT');
    res.end('hello');
  };
  plain = await httpServer(handler);
  secure = await httpsServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key }, handler);
  bbModule = httpModule({ tls_config: { insecure_skip_verify: false, ca_file: pki.ca.certPath } });
  bbModule.name = 'http_2xx';
});
after(async () => {
  await plain.close();
  await secure.close();
});

const targets = () => ({ http_2xx: `${plain.url}/`, https_2xx: `https://127.0.0.1:${secure.port}/` });

async function sondeText(target: string): Promise<string> {
  const r = await probe(target, bbModule);
  assert.equal(r.success, true, r.message);
  return render(r, bbModule);
}

describe('blackbox drop-in: /probe series shape for http_2xx', () => {
  for (const kind of ['http_2xx', 'https_2xx'] as const) {
    test(`${kind}: same series and label names as the captured blackbox 0.23 reference`, async () => {
      const reference = readFileSync(path.join(FIXTURES, `${kind}.prom`), 'utf8');
      assertSameShape(await sondeText(targets()[kind]), reference, kind);
    });
  }

  test('same series and label names as a live blackbox_exporter on the same servers', { skip: !existsSync(BLACKBOX) && `${BLACKBOX} is not installed` }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bbx-'));
    const config = path.join(dir, 'blackbox.yml');
    writeFileSync(
      config,
      ['modules:', '  http_2xx:', '    prober: http', '    timeout: 5s', '    http:', '      preferred_ip_protocol: ip4', '      tls_config:', `        ca_file: ${pki.ca.certPath}`, ''].join('\n'),
    );
    const port = await freePort();
    const child: ChildProcess = spawn(BLACKBOX, [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      const base = `http://127.0.0.1:${port}`;
      let ready = false;
      for (let i = 0; i < 50 && !ready; i++) {
        ready = await fetch(`${base}/-/healthy`).then((r) => r.ok, () => false);
        if (!ready) await sleep(100);
      }
      assert.ok(ready, 'blackbox_exporter did not become ready within 5 s');
      for (const [kind, target] of Object.entries(targets())) {
        const res = await fetch(`${base}/probe?module=http_2xx&target=${encodeURIComponent(target)}`);
        const text = await res.text();
        assert.match(text, /^probe_success 1$/m, `blackbox failed ${kind}:\n${text}`);
        if (process.env.SONDE_UPDATE_FIXTURES === '1') writeFileSync(path.join(FIXTURES, `${kind}.prom`), text);
        const ours = await sondeText(target);
        assertSameShape(ours, text, kind);
        assertSameValues(ours, text, kind);
      }
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    }
  });
});
