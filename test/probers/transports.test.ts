// Both transports held to the same results in one process: every case is probed on a runtime with
// the fast path (the native stream engine) and on one without (Node sockets and undici), against
// the same loopback server, which also records the request bytes each one sent.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { HTTPModule, TCPModule } from '../../src/config/types';
import { requestBytes } from '../../src/probers/http/wire';
import { probeTCP } from '../../src/probers/tcp/probe';
import { PHASE_MEANINGS, type ProbeResult } from '../../src/result';
import { Runtime } from '../../src/runtime';
import { httpModule, probe } from './http_lab';
import { listen, probeContext, tcpModule } from './tcp_helpers';

const engine = new Runtime({ fastPath: true });
const sockets = new Runtime({ fastPath: false });
const TRANSPORTS = [
  { name: 'engine', runtime: engine },
  { name: 'node', runtime: sockets },
] as const;

const BIG = 200_000;

/** Canned answers by path; a function writes on the socket itself. */
const ANSWERS: Record<string, string | Buffer | ((s: net.Socket) => void)> = {
  '/ok': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\nok',
  '/404': 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
  '/redirect': 'HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n',
  '/chunked': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  '/http10': 'HTTP/1.0 200 OK\r\n\r\nread until the close',
  '/big': Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${BIG}\r\n\r\n`), Buffer.alloc(BIG, 0x61)]),
  '/close-reset': (s) => {
    // Reset from a timer: called in the write's callback, Node sends a FIN before the RST.
    s.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nread until the close, which is a reset', () => setTimeout(() => s.resetAndDestroy(), 20));
  },
  '/reset': (s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n');
    s.write(Buffer.alloc(1000, 0x62), () => setTimeout(() => s.resetAndDestroy(), 20));
  },
};

/** The raw requests, in arrival order, each as one latin1 string (head and body). */
const requests: string[] = [];
let port = 0;
let closeServer: () => Promise<void>;

/** Reads one request (head, then Content-Length body bytes), records it, writes the answer for its path. */
function serveRequest(s: net.Socket): void {
  s.on('error', () => undefined);
  let buf = '';
  s.on('data', (d) => {
    buf += d.toString('latin1');
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
    if (buf.length < end + 4 + length) return;
    requests.push(buf);
    const answer = ANSWERS[buf.split(' ')[1] ?? ''];
    buf = '';
    if (typeof answer === 'function') answer(s);
    else s.end(answer ?? 'HTTP/1.1 500 Nothing Here\r\nContent-Length: 0\r\n\r\n');
  });
}

before(async () => {
  const l = await listen(net.createServer(serveRequest), '127.0.0.1');
  port = l.port;
  closeServer = l.close;
});
after(async () => {
  await closeServer();
  engine.close();
  sockets.close();
});

/** What must not depend on the transport: verdict, reason, HTTP facts, which phases each hop measured. */
function comparable(r: ProbeResult): unknown {
  for (const p of Object.keys(r.phases)) assert.ok(p in PHASE_MEANINGS, `phase ${p} has no meaning in src/result.ts PHASE_MEANINGS`);
  return {
    success: r.success,
    reason: r.reason,
    http: r.http && {
      ...r.http,
      hops: r.http.hops.map((h) => ({ url: h.url, statusCode: h.statusCode, phases: Object.keys(h.phases).sort() })),
    },
    tcp: r.tcp,
    phases: Object.keys(r.phases).sort(),
  };
}

interface HTTPCase {
  what: string;
  path: string;
  module?: Partial<HTTPModule>;
  /** the request both must send, when it is worth spelling out */
  request?: string;
  want: Partial<{ success: boolean; reason: string; uncompressed: number; redirects: number }>;
}

const HTTP_CASES: HTTPCase[] = [
  {
    what: 'a plain GET: the request is one writer\'s bytes on both',
    path: '/ok',
    request: 'GET /ok HTTP/1.1\r\nhost: 127.0.0.1:PORT\r\nconnection: close\r\nuser-agent: Blackbox-Exporter/0.28.0\r\n\r\n',
    want: { success: true, uncompressed: 2 },
  },
  {
    what: 'POST with a body and module headers: content-length after the fields',
    path: '/ok',
    module: { method: 'POST', body: 'hello', headers: { 'X-Probe': 'one', 'Content-Type': 'text/plain' } },
    request: 'POST /ok HTTP/1.1\r\nhost: 127.0.0.1:PORT\r\nconnection: close\r\nx-probe: one\r\ncontent-type: text/plain\r\nuser-agent: Blackbox-Exporter/0.28.0\r\ncontent-length: 5\r\n\r\nhello',
    want: { success: true },
  },
  {
    what: 'POST without a body says content-length: 0, as Go and undici do',
    path: '/ok',
    module: { method: 'POST' },
    request: 'POST /ok HTTP/1.1\r\nhost: 127.0.0.1:PORT\r\nconnection: close\r\nuser-agent: Blackbox-Exporter/0.28.0\r\ncontent-length: 0\r\n\r\n',
    want: { success: true },
  },
  {
    what: 'HEAD with a Host override and basic auth',
    path: '/ok',
    module: { method: 'HEAD', headers: { Host: 'service.test' }, basic_auth: { username: 'u', password: 'p' } },
    request: 'HEAD /ok HTTP/1.1\r\nhost: service.test\r\nconnection: close\r\nuser-agent: Blackbox-Exporter/0.28.0\r\nauthorization: Basic dTpw\r\n\r\n',
    want: { success: true, uncompressed: 0 },
  },
  {
    what: 'a module User-Agent replaces blackbox\'s',
    path: '/ok',
    module: { headers: { 'User-Agent': 'probe/1' } },
    request: 'GET /ok HTTP/1.1\r\nhost: 127.0.0.1:PORT\r\nconnection: close\r\nuser-agent: probe/1\r\n\r\n',
    want: { success: true },
  },
  { what: 'a 404 fails with http_status', path: '/404', want: { success: false, reason: 'http_status' } },
  { what: 'a redirect is followed on a fresh connection', path: '/redirect', want: { success: true, redirects: 1 } },
  { what: 'a chunked body is counted decoded', path: '/chunked', want: { success: true, uncompressed: 11 } },
  { what: 'an HTTP/1.0 body ends at the close', path: '/http10', want: { success: true, uncompressed: 20 } },
  { what: 'a body past body_size_limit counts the limit', path: '/big', module: { body_size_limit: 1000 }, want: { success: false, reason: 'body_too_large', uncompressed: 1000 } },
  { what: 'a reset mid-body is reason reset', path: '/reset', want: { success: false, reason: 'reset' } },
  { what: 'a body read until the close ends in a reset: reason reset, as Go reads it', path: '/close-reset', want: { success: false, reason: 'reset' } },
];

describe('http: the engine and Node/undici give the same results', () => {
  for (const c of HTTP_CASES) {
    test(c.what, async () => {
      const results: ProbeResult[] = [];
      const sent: string[] = [];
      for (const t of TRANSPORTS) {
        const before = requests.length;
        const r = await probe(`http://127.0.0.1:${port}${c.path}`, httpModule(c.module ?? {}), undefined, t.runtime);
        results.push(r);
        sent.push(requests.slice(before).join(''));
        if (c.want.success !== undefined) assert.equal(r.success, c.want.success, `${t.name}: ${r.message}`);
        if (c.want.reason !== undefined) assert.equal(r.reason, c.want.reason, `${t.name}: ${r.message}`);
        if (c.want.uncompressed !== undefined) assert.equal(r.http?.uncompressedBodyLength, c.want.uncompressed, t.name);
        if (c.want.redirects !== undefined) assert.equal(r.http?.redirects, c.want.redirects, t.name);
      }
      assert.deepEqual(comparable(results[1]), comparable(results[0]));
      assert.equal(sent[1], sent[0], 'the same request bytes on both transports');
      if (c.request) assert.equal(sent[0], c.request.replace('PORT', String(port)));
    });
  }

  test('requestBytes refuses a field that would split the request', () => {
    assert.throws(() => requestBytes('GET', '/', 'h', { 'x-a': 'one\r\nx-b: two' }), RangeError);
    assert.throws(() => requestBytes('GET', '/', 'h\r\nx: y'), RangeError);
  });
});

interface TCPCase {
  what: string;
  tcp?: Partial<TCPModule>;
  /** false: a port nothing listens on */
  listening: boolean;
  want: { success: boolean; reason?: string };
}

const TCP_CASES: TCPCase[] = [
  { what: 'a bare connect succeeds', listening: true, want: { success: true } },
  { what: 'a bare connect with FIN on close succeeds', listening: true, tcp: { reset_on_close: false }, want: { success: true } },
  { what: 'a closed port is refused', listening: false, want: { success: false, reason: 'refused' } },
  { what: 'an address of the other family without fallback is a config mismatch', listening: true, tcp: { preferred_ip_protocol: 'ip6', ip_protocol_fallback: false }, want: { success: false, reason: 'dns_nxdomain' } },
];

describe('tcp: the engine and Node sockets give the same results', () => {
  let closedPort = 0;
  before(async () => {
    const l = await listen(net.createServer(), '127.0.0.1');
    closedPort = l.port;
    await l.close();
  });
  for (const c of TCP_CASES) {
    test(c.what, async () => {
      const results: ProbeResult[] = [];
      for (const t of TRANSPORTS) {
        const r = await probeTCP(`127.0.0.1:${c.listening ? port : closedPort}`, tcpModule(c.tcp ?? {}), probeContext(2, undefined, t.runtime));
        assert.equal(r.success, c.want.success, `${t.name}: ${r.message}`);
        assert.equal(r.reason, c.want.reason, `${t.name}: ${r.message}`);
        if (r.success) assert.ok(r.phases.connect > 0, `${t.name}: connect phase ${r.phases.connect}`);
        results.push(r);
      }
      assert.deepEqual(comparable(results[1]), comparable(results[0]));
    });
  }
});
