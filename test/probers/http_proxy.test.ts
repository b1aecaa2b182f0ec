// proxy_url, proxy_connect_header, no_proxy, proxy_from_environment and
// skip_resolve_phase_with_proxy, against a forward proxy and servers the test runs on loopback,
// and proxyFor's choices (prometheus/common's rules) on names that are never contacted.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import { defaultHTTP } from '../../src/config/defaults';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { proxyFor } from '../../src/probers/http/proxy';
import { runProbe } from '../../src/schedule/run_probe';
import { makePKI, type PKI } from '../lab/pki';
import { testRuntime } from '../runtime';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}
const seen: Seen[] = [];
const servers: Array<http.Server | https.Server> = [];
let dir: string;
let pki: PKI;
let proxyPort = 0;
let webPort = 0;
let tlsPort = 0;
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

async function listen<T extends http.Server | https.Server>(s: T): Promise<number> {
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return portOf(s);
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sonde-proxy-'));
  pki = await makePKI(dir);
  webPort = await listen(http.createServer((req, res) => res.end(`direct ${req.url}`)));
  tlsPort = await listen(https.createServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key }, (_req, res) => res.end('tls')));
  // A forward proxy: absolute-form requests are relayed to loopback, CONNECT opens a tunnel.
  const proxy = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const u = new URL(req.url ?? '');
    const up = http.request({ host: '127.0.0.1', port: u.port, path: u.pathname + u.search, method: req.method, headers: { ...req.headers, 'x-via-proxy': '1' } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
    seen.push({ method: 'CONNECT', url: req.url ?? '', headers: req.headers });
    const [, port] = /:(\d+)$/.exec(req.url ?? '') ?? [];
    const up = net.connect({ host: '127.0.0.1', port: Number(port) }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  proxyPort = await listen(proxy);
});
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function probe(target: string, http_: string) {
  const m = loadConfigString(`modules:\n  m:\n    prober: http\n    http:\n      preferred_ip_protocol: ip4\n${http_}`, 'proxy.yml').modules.get('m')!;
  const r = await runProbe(target, m, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime });
  return { r, text: renderProbe(r, m).metricsSync() };
}

test('proxy_url: a plain request goes to the proxy in absolute form, with Proxy-Authorization from the URL', async () => {
  seen.length = 0;
  const { r } = await probe(`http://127.0.0.1:${webPort}/x?y=1`, `      proxy_url: "http://u:p@127.0.0.1:${proxyPort}"\n`);
  assert.equal(r.success, true, r.message);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].url, `http://127.0.0.1:${webPort}/x?y=1`);
  assert.equal(seen[0].headers.host, `127.0.0.1:${webPort}`);
  assert.equal(seen[0].headers['proxy-authorization'], `Basic ${Buffer.from('u:p').toString('base64')}`);
});

test('proxy_url with an https target: CONNECT with proxy_connect_header, then TLS to the target', async () => {
  seen.length = 0;
  const { r, text } = await probe(
    `https://127.0.0.1:${tlsPort}/`,
    `      proxy_url: "http://127.0.0.1:${proxyPort}"\n      proxy_connect_header:\n        Proxy-Authorization: ["Bearer token"]\n      tls_config:\n        ca_file: ${pki.ca.certPath}\n`,
  );
  assert.equal(r.success, true, r.message);
  assert.deepEqual(seen.map((s) => [s.method, s.url, s.headers['proxy-authorization']]), [['CONNECT', `127.0.0.1:${tlsPort}`, 'Bearer token']]);
  assert.match(text, /^probe_http_ssl 1$/m);
});

test('skip_resolve_phase_with_proxy: no resolve of the target, no probe_ip_protocol', async () => {
  const { r, text } = await probe(`http://127.0.0.1:${webPort}/`, `      proxy_url: "http://127.0.0.1:${proxyPort}"\n      skip_resolve_phase_with_proxy: true\n`);
  assert.equal(r.success, true, r.message);
  assert.doesNotMatch(text, /^probe_ip_protocol /m);
  const resolved = await probe(`http://127.0.0.1:${webPort}/`, `      proxy_url: "http://127.0.0.1:${proxyPort}"\n`);
  assert.match(resolved.text, /^probe_ip_protocol 4$/m);
});

test('a proxy that does not listen: reason refused', async () => {
  const dead = await probe(`http://127.0.0.1:${webPort}/`, '      proxy_url: "http://127.0.0.1:1"\n');
  assert.deepEqual([dead.r.success, dead.r.reason], [false, 'refused'], dead.r.message);
});

test('no_proxy and proxy_from_environment: loopback targets are never proxied (httpproxy), others by the rules', async () => {
  seen.length = 0;
  const withNoProxy = await probe(`http://127.0.0.1:${webPort}/`, `      proxy_url: "http://127.0.0.1:${proxyPort}"\n      no_proxy: "example.test"\n`);
  assert.equal(withNoProxy.r.success, true, withNoProxy.r.message);
  assert.equal(seen.length, 0, 'with no_proxy set, httpproxy leaves loopback direct');
  const c = { ...defaultHTTP(), proxy_url: 'http://proxy.test:3128' };
  const cases: Array<{ desc: string; url: string; no_proxy?: string; env?: Record<string, string>; want: string | undefined }> = [
    { desc: 'proxy_url alone: every request', url: 'http://svc.test/', want: 'http://proxy.test:3128/' },
    { desc: 'a no_proxy domain and its subdomains', url: 'http://a.svc.test/', no_proxy: 'svc.test', want: undefined },
    { desc: 'a leading dot: subdomains only', url: 'http://svc.test/', no_proxy: '.svc.test', want: 'http://proxy.test:3128/' },
    { desc: 'a CIDR', url: 'http://10.1.2.3/', no_proxy: '10.0.0.0/8', want: undefined },
    { desc: 'another port', url: 'http://svc.test:8080/', no_proxy: 'svc.test:9090', want: 'http://proxy.test:3128/' },
    { desc: '*', url: 'http://svc.test/', no_proxy: '*', want: undefined },
  ];
  for (const k of cases) {
    const got = proxyFor({ ...c, no_proxy: k.no_proxy }, new URL(k.url));
    assert.equal(got?.href, k.want, k.desc);
  }
  const saved = { HTTP_PROXY: process.env.HTTP_PROXY, HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
  try {
    Object.assign(process.env, { HTTP_PROXY: 'plain.test:3128', HTTPS_PROXY: 'http://secure.test:3129', NO_PROXY: 'skip.test' });
    const env = { ...defaultHTTP(), proxy_from_environment: true };
    assert.equal(proxyFor(env, new URL('http://svc.test/'))?.href, 'http://plain.test:3128/');
    assert.equal(proxyFor(env, new URL('https://svc.test/'))?.href, 'http://secure.test:3129/');
    assert.equal(proxyFor(env, new URL('http://skip.test/')), undefined);
    assert.equal(proxyFor(env, new URL('http://localhost:9/')), undefined);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
