// The native /probe gateway (src/api/gateway.ts, native/gateway/gateway.cc) against Node's server:
// for every case the two daemons (one with the gateway, one with SONDE_GATEWAY=0) must give the
// same /probe text but for timings (one TypeScript serves both front doors), the gateway's counters
// must show which door took it, and a failed probe is logged once either way, quoting the regex as
// configured. Then the connection handling a client can throw at it: keep-alive mixing gateway and
// Node requests, pipelining, garbage, an oversized head, a client gone mid-probe, a reload, and a
// second daemon on the same port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { get, metric, SONDE_BIN, startDaemon, type RunningDaemon } from '../lab/daemon';

const GZIPPED = gzipSync(Buffer.from('hello, compressed'));

function targetServer(): http.Server {
  return http.createServer((req, res) => {
    if (req.url?.startsWith('/hello/')) return res.end('hello');
    switch (req.url) {
      case '/ok':
        return res.end('hello');
      case '/missing':
        res.statusCode = 404;
        return res.end('no');
      case '/redir':
        res.writeHead(302, { Location: '/ok' });
        return res.end();
      case '/gzip':
        res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': GZIPPED.length });
        return res.end(GZIPPED);
      case '/lm':
        res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
        return res.end('dated');
      case '/lm-iso':
        res.writeHead(200, { 'Last-Modified': '2015-10-21T07:28:00Z' });
        return res.end('dated');
      case '/big':
        return res.end(Buffer.alloc(100_000, 120));
      case '/slow':
        setTimeout(() => res.end('late'), 400);
        return;
      default:
        res.statusCode = 500;
        return res.end();
    }
  });
}

/** Answers every connection with an HTTP/1.0 response and closes. */
function http10Server(): net.Server {
  return net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    s.on('error', () => undefined);
  });
}

async function listen(srv: net.Server): Promise<number> {
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as net.AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  const port = await listen(srv);
  await new Promise((r) => srv.close(r));
  return port;
}

const MODULES = `modules:
  http_2xx:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
  http_limit:
    prober: http
    http:
      preferred_ip_protocol: ip4
      body_size_limit: 1000
  http_no_follow:
    prober: http
    http:
      preferred_ip_protocol: ip4
      follow_redirects: false
  http_404:
    prober: http
    http:
      preferred_ip_protocol: ip4
      valid_status_codes: [404]
  http_10_only:
    prober: http
    http:
      preferred_ip_protocol: ip4
      valid_http_versions: ["HTTP/1.0"]
  http_body_rule:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_body_not_matches_regexp: ["hello"]
  http_body_ci:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_body_matches_regexp: ['(?i)HELLO\\z']
  tcp_connect:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
  tcp_v6_only:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip6
      ip_protocol_fallback: false
tasks: []
`;

// Series whose values are times: equal in name and labels only.
const TIMED = /^(probe_duration_seconds|probe_http_duration_seconds|probe_dns_lookup_time_seconds)(\{[^}]*\})? .*/;

function normalize(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(TIMED, '$1$2 <time>'))
    .join('\n');
}

async function gatewayCounts(port: number): Promise<Record<string, number>> {
  const text = (await fresh(port, '/metrics')).text;
  const out: Record<string, number> = {};
  for (const p of ['gateway', 'node']) out[p] = metric(text, `sonde_gateway_requests_total{path="${p}"}`) ?? NaN;
  return out;
}

/** Sends raw bytes on one connection and collects `count` HTTP responses (Content-Length framed). */
async function rawExchange(port: number, bytes: string, count: number, sock?: net.Socket): Promise<Array<{ status: number; body: string }>> {
  const s = sock ?? net.connect(port, '127.0.0.1');
  const out: Array<{ status: number; body: string }> = [];
  let buf = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${count} responses:\n${buf.toString('latin1')}`)), 60_000);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        out.push({ status: Number(head.split(' ')[1]), body: buf.subarray(end + 4, end + 4 + len).toString('utf8') });
        buf = buf.subarray(end + 4 + len);
        if (out.length === count) {
          clearTimeout(timer);
          s.off('data', onData);
          if (!sock) s.destroy();
          return resolve(out);
        }
      }
    };
    s.on('data', onData);
    s.on('error', reject);
    s.resume(); // a socket the caller paused
    if (bytes) s.write(bytes);
  });
}

/**
 * One GET on a connection of its own. fetch() would reuse pooled connections, and a connection the
 * gateway once handed to Node stays with Node.
 */
async function fresh(port: number, pathAndQuery: string, scrapeTimeout?: string): Promise<{ status: number; text: string }> {
  const header = scrapeTimeout === undefined ? '' : `X-Prometheus-Scrape-Timeout-Seconds: ${scrapeTimeout}\r\n`;
  const [r] = await rawExchange(port, `GET ${pathAndQuery} HTTP/1.1\r\nHost: x\r\n${header}Connection: close\r\n\r\n`, 1);
  return { status: r.status, text: r.body };
}

let gw: RunningDaemon;
let ts: RunningDaemon;
let cfgFile: string;
const servers: net.Server[] = [];
let web = 0;
let old = 0;
let closed = 0;

before(async () => {
  const target = targetServer();
  const v10 = http10Server();
  servers.push(target, v10);
  web = await listen(target);
  old = await listen(v10);
  closed = await closedPort();
  cfgFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'sonde-gateway-')), 'sonde.yml');
  writeFileSync(cfgFile, MODULES);
  gw = await startDaemon(['--config', cfgFile, '--log.level', 'debug', '--no-ebpf']);
  ts = await startDaemon(['--config', cfgFile, '--log.level', 'debug', '--no-ebpf'], { SONDE_GATEWAY: '0' });
});

after(async () => {
  for (const d of [gw, ts]) {
    d?.child.kill('SIGTERM');
    await d?.exited;
  }
  for (const s of servers) s.close();
});

test('the gateway answers /probe as Node does, and says which door took the request', { timeout: 120_000 }, async () => {
  const cases: Array<{ query: string; path: 'gateway' | 'node'; success?: 0 | 1; reason?: string; status?: number; scrapeTimeout?: string }> = [];
  const add = (module: string, target: string, success: 0 | 1, reason?: string, extra = '') =>
    cases.push({ query: `/probe?module=${module}&target=${encodeURIComponent(target)}${extra}`, path: 'gateway', success, reason });
  add('tcp_connect', `127.0.0.1:${web}`, 1);
  add('tcp_connect', `127.0.0.1:${closed}`, 0, 'refused');
  add('tcp_connect', `127.0.0.1:${web}`, 1);
  add('tcp_v6_only', `127.0.0.1:${web}`, 0);
  add('http_2xx', `http://127.0.0.1:${web}/ok`, 1);
  add('http_2xx', `http://127.0.0.1:${web}/ok?x=1&y=%20z`, 0, 'http_status');
  add('http_2xx', `http://127.0.0.1:${web}/missing`, 0, 'http_status');
  add('http_404', `http://127.0.0.1:${web}/missing`, 1);
  add('http_2xx', `http://127.0.0.1:${web}/lm`, 1);
  add('http_2xx', `http://127.0.0.1:${old}/`, 1);
  add('http_10_only', `http://127.0.0.1:${web}/ok`, 0, 'http_version');
  add('http_10_only', `http://127.0.0.1:${old}/`, 1);
  add('http_limit', `http://127.0.0.1:${web}/big`, 0, 'body_too_large');
  add('http_2xx', `http://127.0.0.1:${closed}/`, 0, 'refused');
  add('http_no_follow', `http://127.0.0.1:${web}/redir`, 0, 'http_status');
  add('http_2xx', `http://127.0.0.1:${web}/redir`, 1);
  add('http_2xx', `http://127.0.0.1:${web}/gzip`, 1);
  add('http_2xx', `http://127.0.0.1:${web}/lm-iso`, 1);
  add('http_2xx', `127.0.0.1:${web}/ok`, 1);
  add('http_body_rule', `http://127.0.0.1:${web}/ok`, 1);
  add('http_body_ci', `http://127.0.0.1:${web}/ok`, 0, 'regex_body');
  // Parameters the native parser leaves to TypeScript's URLSearchParams, and the defaults.
  add('http_2xx', `http://127.0.0.1:${web}/ok`, 1, undefined, '&hostname=example.test');
  add('tcp_connect', `127.0.0.1:${web}`, 1, undefined, '&target=127.0.0.1:1');
  add('tcp%5Fconnect', `127.0.0.1:${web}`, 1, undefined, '&x=%zz');
  cases.push({ query: `/probe?target=${encodeURIComponent(`http://127.0.0.1:${web}/ok`)}`, path: 'gateway', success: 1 });
  cases.push({ query: `/probe?module=tcp_connect&target=127.0.0.1:${web}&debug=true`, path: 'gateway' });
  cases.push({ query: '/probe?module=nope&target=x', path: 'gateway', status: 400 });
  cases.push({ query: '/probe?module=%C3%A9%F0%9F%98%80&target=x', path: 'gateway', status: 400 }); // a body beyond ASCII
  cases.push({ query: '/probe?module=tcp_connect', path: 'gateway', status: 400 });
  cases.push({ query: '/probe?module=tcp_connect&target=x', path: 'gateway', status: 400, scrapeTimeout: 'soon' });
  cases.push({ query: '/-/healthy', path: 'node', status: 200 });
  for (const c of cases) {
    const before = await gatewayCounts(gw.port);
    const [a, b] = await Promise.all([fresh(gw.port, c.query, c.scrapeTimeout), fresh(ts.port, c.query, c.scrapeTimeout)]);
    const counts = await gatewayCounts(gw.port);
    const what = c.query;
    assert.equal(a.status, c.status ?? 200, what);
    assert.equal(b.status, a.status, what);
    if (c.success !== undefined) assert.equal(metric(a.text, 'probe_success'), c.success, `${what}:\n${a.text}`);
    if (c.reason) assert.equal(metric(a.text, `sonde_probe_failure_reason{reason="${c.reason}"}`), 1, `${what}:\n${a.text}`);
    // Times and durations in the debug answer's log lines (JSON) differ between the two probes.
    const norm = (t: string) => normalize(t).replace(/"([a-z_]+)": ?("[0-9]{4}-[0-9T:.-]+Z"|[0-9.e-]+)/g, '"$1": <n>');
    assert.equal(norm(a.text), norm(b.text), what);
    // The /metrics scrape itself is one request handed to Node.
    const expect = { gateway: 0, node: 1, [c.path]: c.path === 'node' ? 2 : 1 };
    for (const p of ['gateway', 'node']) assert.equal(counts[p] - before[p], expect[p], `${what}: ${p} requests`);
  }
});

test('a failed /probe is logged once, at debug level, with the regex as configured, through either door', { timeout: 120_000 }, async () => {
  for (const d of [gw, ts]) {
    const target = `http://127.0.0.1:${web}/hello/${d.port}`;
    const r = await fresh(d.port, `/probe?module=http_body_ci&target=${encodeURIComponent(target)}`);
    assert.equal(metric(r.text, 'probe_success'), 0);
    // A target of its own, so its lines are this request's: the kernel may hand out the same free
    // port again, and earlier tests probed 127.0.0.1's closed ports; nobody probes 127.0.0.21/22.
    const tcpTarget = `127.0.0.${d === gw ? 21 : 22}:${await closedPort()}`;
    await fresh(d.port, `/probe?module=tcp_connect&target=${tcpTarget}`);
    // The log line is written before the answer; give the pipe a moment all the same.
    let lines: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 1200; i++) {
      lines = d.logs.filter((l) => l.target === target || l.target === tcpTarget);
      if (lines.length >= 2) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    await new Promise((res) => setTimeout(res, 200)); // a second line would come now
    lines = d.logs.filter((l) => l.target === target);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0].level, 20);
    assert.equal(lines[0].msg, 'probe failed');
    assert.equal(lines[0].reason, 'regex_body');
    assert.equal(lines[0].detail, 'body matched regular expression (?i)HELLO\\z');
    const tcpLines = d.logs.filter((l) => l.target === tcpTarget);
    assert.equal(tcpLines.length, 1, JSON.stringify(tcpLines));
    assert.deepEqual([tcpLines[0].msg, tcpLines[0].reason], ['probe failed', 'refused']);
  }
});

test('one keep-alive connection mixes gateway and Node requests; pipelined requests are answered in order', { timeout: 120_000 }, async () => {
  const probe = (t: string) => `GET /probe?module=tcp_connect&target=${t} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const sock = net.connect(gw.port, '127.0.0.1');
  try {
    const [first] = await rawExchange(gw.port, probe(`127.0.0.1:${web}`), 1, sock);
    assert.equal(metric(first.body, 'probe_success'), 1);
    const [healthy] = await rawExchange(gw.port, 'GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n', 1, sock);
    assert.deepEqual(healthy, { status: 200, body: 'Healthy\n' });
  } finally {
    sock.destroy();
  }
  const unknown = 'GET /probe?module=%C3%A9%F0%9F%98%80&target=x HTTP/1.1\r\nHost: x\r\n\r\n';
  const answers = await rawExchange(gw.port, probe(`127.0.0.1:${web}`) + unknown + probe(`127.0.0.1:${closed}`) + unknown + probe(`127.0.0.1:${web}`), 5);
  assert.deepEqual(
    answers.map((a) => (a.status === 200 ? metric(a.body, 'probe_success') : a.body)),
    [1, 'Unknown module "é😀"\n', 0, 'Unknown module "é😀"\n', 1],
  );
  // A client that writes 1,500 requests before reading: the answers outgrow the socket buffers, the
  // gateway waits for room (EPOLLOUT) and every answer still arrives, in order.
  const slow = net.connect(gw.port, '127.0.0.1');
  slow.pause(); // nothing is read until the gateway has had to wait for room
  slow.write(probe(`127.0.0.1:${closed}`).repeat(1500));
  await new Promise((r) => setTimeout(r, 500));
  const many = await rawExchange(gw.port, '', 1500, slow);
  slow.destroy();
  assert.equal(many.length, 1500);
  assert.ok(many.every((a) => a.status === 200 && metric(a.body, 'probe_success') === 0));
});

test('malformed and oversized requests get Node answers; a client gone mid-probe harms nothing', { timeout: 120_000 }, async () => {
  const [garbage] = await rawExchange(gw.port, 'HELLO THERE\r\n\r\n', 1);
  assert.equal(garbage.status, 400);
  const [big] = await rawExchange(gw.port, `GET /probe?module=tcp_connect HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 1);
  assert.equal(big.status, 431);
  const [timeout] = await rawExchange(gw.port, `GET /probe?module=tcp_connect&target=127.0.0.1:${web} HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: soon\r\n\r\n`, 1);
  assert.equal(timeout.status, 400);
  assert.match(timeout.body, /Failed to parse timeout from Prometheus header/);

  for (let i = 0; i < 20; i++) {
    const s = net.connect(gw.port, '127.0.0.1');
    s.on('error', () => undefined);
    s.write(`GET /probe?module=http_2xx&target=${encodeURIComponent(`http://127.0.0.1:${web}/slow`)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    setTimeout(() => s.destroy(), 20);
  }
  await new Promise((r) => setTimeout(r, 600)); // the slow answers arrive for connections that are gone
  const after = await fresh(gw.port, `/probe?module=http_2xx&target=${encodeURIComponent(`http://127.0.0.1:${web}/ok`)}`);
  assert.equal(metric(after.text, 'probe_success'), 1);
  assert.equal(gw.child.exitCode, null);
});

test('a reload reaches /probe requests the gateway takes', { timeout: 120_000 }, async () => {
  const q = `/probe?module=http_2xx&target=${encodeURIComponent(`http://127.0.0.1:${web}/missing`)}`;
  assert.equal(metric((await fresh(gw.port, q)).text, 'probe_success'), 0);
  writeFileSync(cfgFile, MODULES.replace('      preferred_ip_protocol: ip4\n  http_limit:', '      preferred_ip_protocol: ip4\n      valid_status_codes: [404]\n  http_limit:'));
  try {
    assert.equal((await get(gw.port, '/-/reload', { method: 'POST' })).status, 200);
    let ok: number | undefined;
    for (let i = 0; i < 50 && ok !== 1; i++) {
      const before = (await gatewayCounts(gw.port)).gateway;
      ok = metric((await fresh(gw.port, q)).text, 'probe_success');
      if (ok === 1) assert.equal((await gatewayCounts(gw.port)).gateway - before, 1, 'taken by the gateway');
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(ok, 1);
  } finally {
    writeFileSync(cfgFile, MODULES);
    await get(gw.port, '/-/reload', { method: 'POST' });
  }
});

test('a second daemon on the port the first one serves fails with EADDRINUSE, as with the gateway off', { timeout: 120_000 }, async () => {
  for (const env of [{}, { SONDE_GATEWAY: '0' }]) {
    const second = spawn(process.execPath, [SONDE_BIN, 'run', '--config', cfgFile, '--no-ebpf', '--web.listen-address', `127.0.0.1:${gw.port}`], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    second.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const killer = setTimeout(() => second.kill('SIGKILL'), 20_000);
      second.on('exit', (c) => {
        clearTimeout(killer);
        resolve(c);
      });
    });
    assert.notEqual(code, 0, `${JSON.stringify(env)}: the second daemon must not run:\n${err}`);
    assert.match(err, /EADDRINUSE/, JSON.stringify(env));
  }
  // And the first one still answers every request.
  for (let i = 0; i < 20; i++) assert.equal((await fresh(gw.port, '/-/healthy')).status, 200);
});
