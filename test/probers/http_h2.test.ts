// enable_http2 as blackbox's Go transport reads it: over TLS, h2 is offered by ALPN and used when the
// server picks it (probe_http_version 2); a server without h2 answers HTTP/1.1; enable_http2: false
// offers no h2; plain http:// is HTTP/1.1 whatever the key says (Go does not speak h2c).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { HTTPModule } from '../../src/config/types';
import { makePKI, type PKI } from '../lab/pki';
import { httpModule, httpServer, httpsServer, type LocalServer, metric, probe, render } from './http_lab';

let pki: PKI;
let h2: http2.Http2SecureServer;
let h2Port = 0;
const servers: LocalServer[] = [];

before(async () => {
  pki = await makePKI(mkdtempSync(path.join(os.tmpdir(), 'sonde-pki-')));
  h2 = http2.createSecureServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key, allowHTTP1: true }, (req, res) => {
    res.setHeader('x-proto', req.httpVersion);
    res.end('h2 ok');
  });
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', () => resolve()));
  h2Port = (h2.address() as AddressInfo).port;
  servers.push(await httpsServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key }, (_req, res) => res.end('h1 ok')));
  servers.push(await httpServer((_req, res) => res.end('plain ok')));
});
after(async () => {
  for (const s of servers) await s.close();
  await new Promise<void>((resolve) => h2.close(() => resolve()));
});

const tlsModule = (over: Partial<HTTPModule>) => httpModule({ tls_config: { insecure_skip_verify: false, ca_file: pki.ca.certPath }, ...over });

test('enable_http2 follows what the server offers, as Go does', async () => {
  const cases: Array<{ desc: string; url: () => string; over: Partial<HTTPModule>; version: number }> = [
    { desc: 'default (true), h2 server: HTTP/2', url: () => `https://127.0.0.1:${h2Port}/`, over: {}, version: 2 },
    { desc: 'false, h2 server: HTTP/1.1', url: () => `https://127.0.0.1:${h2Port}/`, over: { enable_http2: false }, version: 1.1 },
    { desc: 'true, server without h2: HTTP/1.1', url: () => `https://127.0.0.1:${servers[0].port}/`, over: { enable_http2: true }, version: 1.1 },
    { desc: 'true, plain http: HTTP/1.1', url: () => `http://127.0.0.1:${servers[1].port}/`, over: { enable_http2: true }, version: 1.1 },
  ];
  for (const c of cases) {
    const m = tlsModule(c.over);
    const r = await probe(c.url(), m);
    assert.equal(r.success, true, `${c.desc}: ${r.message}`);
    assert.equal(metric(await render(r, m), 'probe_http_version'), c.version, c.desc);
    assert.ok(r.phases.processing > 0 || c.version !== 2, `${c.desc}: processing is measured on HTTP/2 too`);
  }
});

test('valid_http_versions sees HTTP/2.0 as Go names it', async () => {
  const ok = await probe(`https://127.0.0.1:${h2Port}/`, tlsModule({ valid_http_versions: ['HTTP/2.0'] }));
  assert.equal(ok.success, true, ok.message);
  const bad = await probe(`https://127.0.0.1:${h2Port}/`, tlsModule({ valid_http_versions: ['HTTP/1.1'] }));
  assert.equal(bad.reason, 'http_version');
});
