// The native stream engine against loopback servers started here: TCP connect outcomes, HTTP/1.x
// framing, failures with their phase, many probes in flight, IPv6, and process lifetime.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { StreamPool, type StreamResult } from '../../src/native/stream';
import { requestBytes } from '../../src/probers/http/wire';
import { waitFor } from '../lab/wait';
import { cannedHttp, close, closedPort, fullBacklog, tcpListener } from './stream_servers';

let pool = new StreamPool();

const servers: net.Server[] = [];
after(async () => {
  pool.close();
  await Promise.all(servers.map(close));
});

// Loopback answers in microseconds: this deadline only bounds a loaded machine (sanitizers, busy cores).
const T = 10_000;
const get = (p: string, host = '127.0.0.1') => requestBytes('GET', p, host, { 'user-agent': 'sonde-test' });

test('a connect to a listening port succeeds, reports its local port and resets the connection', async () => {
  const { server, port } = await tcpListener();
  servers.push(server);
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T });
  assert.equal(r.errno, 0);
  assert.equal(r.phase, 'done');
  assert.ok(r.localPort > 0);
  assert.ok(r.timings.connect > 0 && r.timings.connect < T / 1000, `connect ${r.timings.connect} s`);
  assert.equal(r.statusCode, 0);
  // RST close: no TIME_WAIT left behind for this connection (the port alone may match others' sockets).
  const tw = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( sport = :${r.localPort} and dport = :${port} )`]).toString().trim();
  assert.equal(tw, '');
});

test('a graceful connect probe closes with FIN and so leaves TIME_WAIT on this side', async () => {
  const { server, port } = await tcpListener();
  servers.push(server);
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T, graceful: true });
  assert.equal(r.errno, 0);
  const timeWait = () => execFileSync('ss', ['-Htan', 'state', 'time-wait', `( sport = :${r.localPort} and dport = :${port} )`]).toString().trim();
  assert.ok(await waitFor(() => timeWait() !== ''), 'expected a TIME_WAIT socket for the graceful close');
});

test('a connect-only probe from a caller\'s port leaves its socket bound there, and the next probe from that port takes it', async () => {
  const { server, port } = await tcpListener();
  servers.push(server);
  const engine = new StreamPool();
  try {
    const src = 20000 + (process.pid % 5000);
    const before = engine.counters().rebound;
    for (let i = 0; i < 3; i++) {
      const r = await engine.probe({ address: '127.0.0.1', port, timeoutMs: T, sourcePort: src });
      assert.equal(r.errno, 0, r.code);
      assert.equal(r.localPort, src);
    }
    assert.equal(engine.counters().rebound - before, 2, 'the second and third probe reused the socket');
    // An HTTP probe and a refused connect from the same port work on the kept socket too.
    // (The listener above sees the reset connections gone before it can read their ports; this one
    // keeps its connection until it answers.)
    const web = await cannedHttp(() => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    servers.push(web.server);
    const peers: number[] = [];
    web.server.on('connection', (c: net.Socket) => peers.push(c.remotePort ?? 0));
    const h = await engine.probe({ address: '127.0.0.1', port: web.port, timeoutMs: T, request: get('/'), sourcePort: src });
    assert.equal(h.statusCode, 200);
    assert.deepEqual(peers, [src], 'the kept socket connects from the caller\'s port');
    assert.equal(engine.counters().rebound - before, 3);
    const refused = await engine.probe({ address: '127.0.0.1', port: await closedPort(), timeoutMs: T, sourcePort: src });
    assert.equal(refused.code, 'ECONNREFUSED');
  } finally {
    engine.close();
  }
});

test('an HTTP probe from a port still draining the last one to the same server takes its socket', async () => {
  // The server answers and keeps the connection open (its FIN would come late): the first probe's
  // result is out while its socket waits for that FIN, and the caller hands the port on at once.
  const held: net.Socket[] = [];
  const server = net.createServer((c) => {
    held.push(c);
    c.once('data', () => c.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const port = (server.address() as net.AddressInfo).port;
  const engine = new StreamPool();
  try {
    const src = 25000 + (process.pid % 5000);
    for (let i = 0; i < 3; i++) {
      const r = await engine.probe({ address: '127.0.0.1', port, timeoutMs: T, request: get('/'), sourcePort: src });
      assert.equal(r.code, undefined, `probe ${i}: ${r.code}`);
      assert.equal(r.statusCode, 200);
    }
    assert.equal(held.length, 3);
  } finally {
    engine.close();
    for (const c of held) c.destroy();
  }
});

test('a connect to a closed port fails with ECONNREFUSED in the connect phase', async () => {
  const r = await pool.probe({ address: '127.0.0.1', port: await closedPort(), timeoutMs: T });
  assert.equal(r.code, 'ECONNREFUSED');
  assert.equal(r.phase, 'connect');
});

test('a connect to a listener with a full accept queue times out in the connect phase', async () => {
  const lst = await fullBacklog();
  try {
    const r = await pool.probe({ address: '127.0.0.1', port: lst.port, timeoutMs: 300 });
    assert.equal(r.code, 'ETIMEDOUT');
    assert.equal(r.phase, 'connect');
    // Not before the timeout; the upper bound only says it did not wait for the kernel's SYN retries.
    assert.ok(r.timings.total >= 0.29 && r.timings.total < 5, `total ${r.timings.total}`);
  } finally {
    lst.stop();
  }
});

test('a server that accepts but never answers times out in the processing phase', async () => {
  const { server, port } = await cannedHttp(() => null);
  servers.push(server);
  // Long enough that the connect is surely done before it: the timeout must strike while waiting for the answer.
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: 2000, request: get('/') });
  assert.equal(r.code, 'ETIMEDOUT');
  assert.equal(r.phase, 'processing');
  assert.ok(r.timings.connect > 0);
  assert.equal(r.statusCode, 0);
});

const BIG = 'x'.repeat(1000);
const RESPONSES: Record<string, string | Buffer> = {
  '/cl': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\n\r\nhello',
  '/chunked': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n',
  '/close': `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n${BIG}`,
  '/http10': 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
  '/404': 'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found',
  '/malformed': 'HTTX/1.1 200 OK\r\n\r\n',
  '/big': `HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${BIG}`,
  '/truncated': 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc',
  '/mib': Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), Buffer.alloc(1 << 20, 0x61)]),
};

interface HttpCase {
  what: string;
  path: string;
  head?: boolean;
  bodyLimit?: number;
  want: Partial<StreamResult>;
}

const HTTP_CASES: HttpCase[] = [
  { what: 'Content-Length body', path: '/cl', want: { errno: 0, statusCode: 200, httpVersion: 1.1, contentLength: 5, bodyBytes: 5 } },
  { what: 'chunked body is decoded', path: '/chunked', want: { errno: 0, statusCode: 200, contentLength: -1, bodyBytes: 9 } },
  { what: 'body delimited by close', path: '/close', want: { errno: 0, statusCode: 200, contentLength: -1, bodyBytes: 1000 } },
  { what: 'a 1 MiB body read across many reads', path: '/mib', want: { errno: 0, bodyBytes: 1 << 20 } },
  { what: 'HTTP/1.0 response', path: '/http10', want: { errno: 0, statusCode: 200, httpVersion: 1.0, bodyBytes: 2 } },
  { what: '404 is a result, not an error', path: '/404', want: { errno: 0, statusCode: 404, bodyBytes: 9 } },
  { what: 'HEAD response has no body', path: '/cl', head: true, want: { errno: 0, statusCode: 200, contentLength: 5, bodyBytes: 0 } },
  {
    what: 'malformed status line is a parse error',
    path: '/malformed',
    want: { code: 'EPROTO', parseError: 'status_line', phase: 'transfer', statusCode: 0 },
  },
  {
    what: 'body over the limit stops at the limit',
    path: '/big',
    bodyLimit: 100,
    want: { code: 'EPROTO', parseError: 'body_too_large', bodyBytes: 100, statusCode: 200 },
  },
  { what: 'body at the limit is fine', path: '/big', bodyLimit: 1000, want: { errno: 0, bodyBytes: 1000 } },
  {
    what: 'close before Content-Length is reached is truncation',
    path: '/truncated',
    want: { code: 'EPROTO', parseError: 'truncated', bodyBytes: 3 },
  },
];

test('HTTP responses are framed, counted and judged', async (t) => {
  const srv = await cannedHttp((p) => RESPONSES[p] ?? 'HTTP/1.1 500 X\r\n\r\n');
  servers.push(srv.server);
  for (const c of HTTP_CASES) {
    await t.test(c.what, async () => {
      const request = requestBytes(c.head ? 'HEAD' : 'GET', c.path, 'localhost');
      const r = await pool.probe({ address: '127.0.0.1', port: srv.port, timeoutMs: T, request, headRequest: c.head, bodyLimit: c.bodyLimit });
      const got = Object.fromEntries(Object.keys(c.want).map((k) => [k, r[k as keyof StreamResult]]));
      assert.deepEqual(got, c.want);
      if (r.errno === 0) {
        assert.equal(r.phase, 'done');
        assert.ok(r.timings.processing > 0, 'processing time');
        assert.ok(r.timings.total >= r.timings.connect + r.timings.processing);
      }
    });
  }
  assert.equal(srv.requests[0], 'GET /cl HTTP/1.1\r\nhost: localhost\r\nconnection: close');
});

test('the raw response head is returned, capped at headerCapture bytes', async () => {
  const srv = await cannedHttp((p) => RESPONSES[p] ?? '');
  servers.push(srv.server);
  const r = await pool.probe({ address: '127.0.0.1', port: srv.port, timeoutMs: T, request: get('/cl') });
  assert.equal(r.head, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\n\r\n');
  // The server closed first ("Connection: close"), so no TIME_WAIT is left on our side.
  const tw = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( sport = :${r.localPort} and dport = :${srv.port} )`]).toString().trim();
  assert.equal(tw, '');
  const short = await pool.probe({ address: '127.0.0.1', port: srv.port, timeoutMs: T, request: get('/cl'), headerCapture: 15 });
  assert.equal(short.head, 'HTTP/1.1 200 OK');
});

test('probes bound to a source address come from it', async () => {
  const seen: string[] = [];
  const { server, port } = await tcpListener();
  server.on('connection', (s) => seen.push(s.remoteAddress ?? ''));
  servers.push(server);
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T, sourceAddress: '127.0.0.2', graceful: true });
  assert.equal(r.errno, 0);
  await waitFor(() => seen.length > 0);
  assert.deepEqual(seen, ['127.0.0.2']);
});

test('IPv6 ::1 works for connect and HTTP probes', async () => {
  const srv = await cannedHttp((p) => RESPONSES[p] ?? '', '::1');
  servers.push(srv.server);
  const c = await pool.probe({ address: '::1', port: srv.port, timeoutMs: T });
  assert.equal(c.errno, 0);
  const h = await pool.probe({ address: '::1', port: srv.port, timeoutMs: T, request: get('/404', '[::1]') });
  assert.equal(h.statusCode, 404);
  const refused = await pool.probe({ address: '::1', port: await closedPort('::1'), timeoutMs: T });
  assert.equal(refused.code, 'ECONNREFUSED');
});

test('20,000 probes in flight at once each get their own result', { timeout: 60_000 }, async () => {
  const open = await tcpListener();
  servers.push(open.server);
  const closedP = await closedPort();
  const http = await cannedHttp((p) => {
    const code = 200 + (Number(p.slice(1)) % 50);
    return `HTTP/1.1 ${code} X\r\nContent-Length: ${code % 7}\r\n\r\n${'z'.repeat(code % 7)}`;
  });
  servers.push(http.server);
  const N = 20_000;
  const t0 = process.hrtime.bigint();
  const promises: Promise<StreamResult>[] = [];
  for (let i = 0; i < N; i++) {
    const kind = i % 3;
    if (kind === 0) promises.push(pool.probe({ address: '127.0.0.1', port: open.port, timeoutMs: 30_000 }));
    else if (kind === 1) promises.push(pool.probe({ address: '127.0.0.1', port: closedP, timeoutMs: 30_000 }));
    else promises.push(pool.probe({ address: '127.0.0.1', port: http.port, timeoutMs: 30_000, request: get(`/${i}`) }));
  }
  const results = await Promise.all(promises);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const wrong: string[] = [];
  results.forEach((r, i) => {
    const kind = i % 3;
    const code = 200 + (i % 50);
    const ok =
      kind === 0 ? r.errno === 0 : kind === 1 ? r.code === 'ECONNREFUSED' : r.statusCode === code && r.bodyBytes === (code === 204 ? 0 : code % 7); // 204: no body (RFC 9110 15.3.5)
    if (!ok && wrong.length < 5) wrong.push(`#${i}: ${JSON.stringify(r)}`);
  });
  assert.deepEqual(wrong, []);
  console.log(`${N} mixed probes in flight: ${secs.toFixed(2)} s`);
});

test('an idle engine does not keep the process alive, a pending probe does', () => {
  const mod = path.resolve(__dirname, '../../src/native/stream.js');
  const script = `
    const s = new (require(${JSON.stringify(mod)}).StreamPool)();
    const net = require('net');
    // Unref'd server and connections: only the engine can keep this process alive.
    const srv = net.createServer((c) => c.unref().on('error', () => {})).listen(0, '127.0.0.1', async () => {
      srv.unref();
      const port = srv.address().port;
      const r = await s.probe({ address: '127.0.0.1', port, timeoutMs: 10000 });
      // The server never answers: this probe is pending for 300 ms with nothing else alive.
      s.probe({ address: '127.0.0.1', port, timeoutMs: 300, request: Buffer.from('GET / HTTP/1.1\\r\\n\\r\\n') })
        .then((r2) => console.log('first', r.errno, 'second', r2.code));
    });`;
  // Kept alive by an idle engine, the process would be killed by spawnSync's timeout (signal, no status).
  const out = spawnSync(process.execPath, ['-e', script], { timeout: 60_000, encoding: 'utf8' });
  assert.equal(out.signal, null, 'process exited on its own once idle');
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout.trim(), 'first 0 second ETIMEDOUT');
});

test('with every slot busy a probe waits in the queue, and its timeout counts there', async () => {
  const { server, port } = await cannedHttp(() => null);
  servers.push(server);
  pool.close();
  pool = new StreamPool({ capacity: 1 });
  try {
    assert.equal(pool.capacity, 1);
    // The first holds the only slot for 2 s (its connect long done), the second's 100 ms run out in
    // the queue behind it, the third has time to spare after the first.
    const first = pool.probe({ address: '127.0.0.1', port, timeoutMs: 2000, request: get('/') });
    const second = pool.probe({ address: '127.0.0.1', port, timeoutMs: 100 });
    const third = pool.probe({ address: '127.0.0.1', port, timeoutMs: 2000 + T });
    const [a, b, c] = await Promise.all([first, second, third]);
    assert.deepEqual([a.code, a.phase], ['ETIMEDOUT', 'processing']);
    assert.deepEqual([b.code, b.phase], ['ETIMEDOUT', 'queued']);
    assert.deepEqual([c.errno, c.phase], [0, 'done'], 'the third starts once the first frees its slot');
  } finally {
    pool.close();
    pool = new StreamPool();
  }
});

test('a cancelled probe ends at once with ECANCELED, running or still queued, and frees its slot', async () => {
  const { server, port } = await cannedHttp(() => null); // never answers
  servers.push(server);
  pool.close();
  pool = new StreamPool({ capacity: 1 });
  try {
    const cancels: Array<() => void> = [];
    const owner = { cancellable: (c: () => void) => void cancels.push(c) };
    // The first holds the only slot (its deadline far away), the second waits in the queue behind it.
    const first = pool.probe({ address: '127.0.0.1', port, timeoutMs: 600_000, request: get('/') }, owner);
    const second = pool.probe({ address: '127.0.0.1', port, timeoutMs: 600_000, request: get('/') }, owner);
    assert.equal(cancels.length, 2, 'each probe hands over its cancel');
    cancels[1](); // queued: ends without ever taking the slot
    const b = await second;
    assert.deepEqual([b.code, b.phase], ['ECANCELED', 'queued']);
    cancels[0]();
    const a = await first;
    assert.equal(a.code, 'ECANCELED');
    assert.ok(a.phase === 'processing' || a.phase === 'connect' || a.phase === 'write', a.phase);
    // The slot is free again: a probe after them runs (to a refused port: it ends at once).
    const c = await pool.probe({ address: '127.0.0.1', port: await closedPort(), timeoutMs: T });
    assert.equal(c.code, 'ECONNREFUSED');
    cancels[0](); // cancelling a finished probe is harmless
    assert.equal(pool.counters().cancelled, 2);
  } finally {
    pool.close();
    pool = new StreamPool();
  }
});

test('bad arguments are TypeError/RangeError, not a crash', async () => {
  await assert.rejects(pool.probe({ address: 'not-an-ip', port: 80, timeoutMs: 100 }), RangeError);
  await assert.rejects(pool.probe({ address: '127.0.0.1', port: 70000, timeoutMs: 100 }), RangeError);
  await assert.rejects(pool.probe({ address: '127.0.0.1', port: 80, timeoutMs: 100, sourceAddress: '::1' }), RangeError);
});
