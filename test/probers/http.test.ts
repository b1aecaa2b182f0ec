// The HTTP prober against local servers on 127.0.0.1: verdicts, reasons, phases and /probe values.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PROBER_HEADERS, parseHead } from '../../src/probers/fast';
import { combinePerAddress, withHostname } from '../../src/probers/http/probe';
import { requestSpec } from '../../src/probers/http/request_spec';
import type { FlowRegistry } from '../../src/probers/types';
import { httpModule, httpServer, type LocalServer, metric, probe, render } from './http_lab';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HUGE = 4 * 1024 * 1024;

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  switch (url.pathname) {
    case '/ok':
      res.setHeader('Last-Modified', 'Wed, 21 Oct 2015 07:28:00 GMT');
      res.setHeader('X-Build', 'release-42');
      res.end('service is healthy');
      return;
    case '/status':
      res.statusCode = Number(url.searchParams.get('code'));
      res.end('status');
      return;
    case '/redirect': {
      const left = Number(url.searchParams.get('n'));
      res.statusCode = 302;
      res.setHeader('Location', left > 1 ? `/redirect?n=${left - 1}` : '/ok');
      res.end();
      return;
    }
    case '/loop-a':
      res.writeHead(301, { Location: '/loop-b' }).end();
      return;
    case '/loop-b':
      res.writeHead(301, { Location: '/loop-a' }).end();
      return;
    case '/slow-head':
      await sleep(300);
      res.end('late');
      return;
    case '/slow-body':
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first half, ');
      await sleep(300);
      res.end('second half');
      return;
    case '/huge':
      res.writeHead(200, { 'Content-Length': String(HUGE) });
      for (let i = 0; i < HUGE / 65536 && !res.destroyed; i++) {
        if (!res.write(Buffer.alloc(65536, 0x61))) await drained(res);
      }
      res.end();
      return;
    case '/reset':
      res.writeHead(200, { 'Content-Length': '100000' });
      res.write(Buffer.alloc(1000, 0x62));
      await sleep(50);
      // An RST mid-body: SO_LINGER 0 on close (resetAndDestroy, Node >= 16.17).
      req.socket.resetAndDestroy();
      return;
    case '/gzip': {
      const plain = Buffer.alloc(10_000, 'sonde ');
      const gz = gzipSync(plain);
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': String(gz.length) });
      res.end(gz);
      return;
    }
    case '/auth': {
      const want = `Basic ${Buffer.from('probe:s3cret').toString('base64')}`;
      res.statusCode = req.headers.authorization === want ? 200 : 401;
      res.end();
      return;
    }
    case '/echo-auth':
      res.end(`auth=${req.headers.authorization}`);
      return;
    case '/echo-host':
      res.end(`host=${req.headers.host}`);
      return;
    case '/echo-post': {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      res.end(`${req.method} ${Buffer.concat(chunks).toString()}`);
      return;
    }
    case '/hang':
      await sleep(1200);
      res.end();
      return;
    default:
      res.statusCode = 404;
      res.end();
  }
}

describe('http prober, plain HTTP', () => {
  let srv: LocalServer;
  before(async () => {
    srv = await httpServer((req, res) => void route(req, res));
  });
  after(() => srv.close());

  test('a 200 succeeds and reports status, version, lengths and Last-Modified', async () => {
    const m = httpModule();
    const r = await probe(`${srv.url}/ok`, m);
    assert.equal(r.success, true, r.message);
    const text = await render(r, m);
    assert.equal(metric(text, 'probe_success'), 1);
    assert.equal(metric(text, 'probe_http_status_code'), 200);
    assert.equal(metric(text, 'probe_http_version'), 1.1);
    assert.equal(metric(text, 'probe_http_content_length'), 18);
    assert.equal(metric(text, 'probe_http_uncompressed_body_length'), 18);
    assert.equal(metric(text, 'probe_http_last_modified_timestamp_seconds'), 1445412480);
    assert.equal(metric(text, 'probe_http_ssl'), 0);
    assert.equal(metric(text, 'probe_ip_protocol'), 4);
    for (const p of ['resolve', 'connect', 'tls', 'processing', 'transfer']) {
      assert.notEqual(metric(text, `probe_http_duration_seconds{phase="${p}"}`), undefined, p);
    }
    assert.ok(r.phases.connect > 0 && r.phases.processing > 0);
  });

  test('status rules: 404 fails by default, passes when listed in valid_status_codes', async () => {
    const bad = await probe(`${srv.url}/status?code=404`, httpModule());
    assert.equal(bad.success, false);
    assert.equal(bad.reason, 'http_status');
    assert.equal(bad.http?.statusCode, 404);
    const ok = await probe(`${srv.url}/status?code=404`, httpModule({ valid_status_codes: [404] }));
    assert.equal(ok.success, true, ok.message);
  });

  test('body regular expressions set probe_failed_due_to_regex', async () => {
    const cases = [
      { over: { fail_if_body_matches_regexp: [/healthy/] }, success: false },
      { over: { fail_if_body_matches_regexp: [/broken/] }, success: true },
      { over: { fail_if_body_not_matches_regexp: [/is healthy$/] }, success: true },
      { over: { fail_if_body_not_matches_regexp: [/degraded/] }, success: false },
    ];
    for (const c of cases) {
      const m = httpModule(c.over);
      const r = await probe(`${srv.url}/ok`, m);
      assert.equal(r.success, c.success, JSON.stringify(c.over, (_k, v) => (v instanceof RegExp ? v.source : v)));
      if (!c.success) assert.equal(r.reason, 'regex_body');
      assert.equal(metric(await render(r, m), 'probe_failed_due_to_regex'), c.success ? 0 : 1);
    }
  });

  test('header regular expressions honour allow_missing', async () => {
    const cases = [
      { over: { fail_if_header_matches: [{ header: 'X-Build', regexp: /release/, allow_missing: false }] }, success: false },
      { over: { fail_if_header_not_matches: [{ header: 'x-build', regexp: /^release-\d+$/, allow_missing: false }] }, success: true },
      { over: { fail_if_header_not_matches: [{ header: 'X-Missing', regexp: /x/, allow_missing: false }] }, success: false },
      { over: { fail_if_header_not_matches: [{ header: 'X-Missing', regexp: /x/, allow_missing: true }] }, success: true },
    ];
    for (const c of cases) {
      const r = await probe(`${srv.url}/ok`, httpModule(c.over));
      assert.equal(r.success, c.success, c.over.toString());
      if (!c.success) assert.equal(r.reason, 'regex_header');
    }
  });

  test('valid_http_versions rejects a version not listed', async () => {
    const r = await probe(`${srv.url}/ok`, httpModule({ valid_http_versions: ['HTTP/2.0'] }));
    assert.equal(r.reason, 'http_version');
    const ok = await probe(`${srv.url}/ok`, httpModule({ valid_http_versions: ['HTTP/1.1'] }));
    assert.equal(ok.success, true);
  });

  test('fail_if_not_ssl fails a plain response', async () => {
    const r = await probe(`${srv.url}/ok`, httpModule({ fail_if_not_ssl: true }));
    assert.equal(r.reason, 'ssl_required');
  });

  test('a redirect chain is followed, counted, and timed per hop', async () => {
    const m = httpModule();
    const r = await probe(`${srv.url}/redirect?n=3`, m);
    assert.equal(r.success, true, r.message);
    assert.equal(r.http?.redirects, 3);
    assert.equal(r.http?.hops.length, 4);
    assert.deepEqual(
      r.http?.hops.map((h) => h.statusCode),
      [302, 302, 302, 200],
    );
    for (const hop of r.http?.hops ?? []) assert.ok(hop.phases.connect > 0 && hop.phases.processing > 0, hop.url);
    const connectSum = (r.http?.hops ?? []).reduce((s, h) => s + h.phases.connect, 0);
    assert.ok(Math.abs(connectSum - r.phases.connect) < 1e-9);
    assert.equal(metric(await render(r, m), 'probe_http_redirects'), 3);
  });

  test('follow_redirects false stops at the 3xx (counted as blackbox does)', async () => {
    const r = await probe(`${srv.url}/redirect?n=1`, httpModule({ follow_redirects: false }));
    assert.equal(r.success, false);
    assert.equal(r.reason, 'http_status');
    assert.equal(r.http?.statusCode, 302);
    assert.equal(r.http?.redirects, 1);
  });

  test('a redirect loop reports 11 redirects as blackbox (Go stops past 10); a long chain hits max_redirects', async () => {
    const loop = await probe(`${srv.url}/loop-a`, httpModule());
    assert.equal(loop.reason, 'too_many_redirects');
    assert.equal(loop.http?.redirects, 11);
    assert.equal(loop.http?.hops.length, 11);
    const long = await probe(`${srv.url}/redirect?n=5`, httpModule({ max_redirects: 2 }));
    assert.equal(long.reason, 'too_many_redirects');
    assert.equal(long.http?.hops.length, 3);
  });

  test('a slow first byte lands in the processing phase', async () => {
    const r = await probe(`${srv.url}/slow-head`, httpModule());
    assert.equal(r.success, true, r.message);
    assert.ok(r.phases.processing >= 0.29, `processing ${r.phases.processing}`);
    // Relative, not a fixed bound: a loaded machine may stretch the fast part, not the 300 ms sleep.
    assert.ok(r.phases.transfer < r.phases.processing, `transfer ${r.phases.transfer}, processing ${r.phases.processing}`);
  });

  test('a slow body lands in the transfer phase', async () => {
    const r = await probe(`${srv.url}/slow-body`, httpModule());
    assert.equal(r.success, true, r.message);
    assert.ok(r.phases.transfer >= 0.29, `transfer ${r.phases.transfer}`);
    assert.ok(r.phases.processing < r.phases.transfer, `processing ${r.phases.processing}, transfer ${r.phases.transfer}`);
    assert.equal(r.http?.contentLength, -1); // chunked: no Content-Length, as Go reports it
    assert.equal(r.http?.uncompressedBodyLength, 'first half, second half'.length);
  });

  test('a body over body_size_limit stops the read with body_too_large', async () => {
    const m = httpModule({ body_size_limit: 100_000 });
    const r = await probe(`${srv.url}/huge`, m);
    assert.equal(r.reason, 'body_too_large');
    assert.equal(r.http?.statusCode, 200);
    // Go's MaxBytesReader hands out the bytes up to the limit: blackbox reports the limit, on every transport.
    assert.equal(metric(await render(r, m), 'probe_http_uncompressed_body_length'), 100_000);
    // A limit smaller than the first read (blackbox reports 1000 here; the bytes read were more).
    const small = await probe(`${srv.url}/huge`, httpModule({ body_size_limit: 1000 }));
    assert.equal(small.reason, 'body_too_large');
    assert.equal(small.http?.uncompressedBodyLength, 1000);
    assert.ok(small.phases.transfer > 0, 'the read that hit the limit ends the transfer phase');
    const full = await probe(`${srv.url}/huge`, httpModule());
    assert.equal(full.success, true, full.message);
    assert.equal(full.http?.uncompressedBodyLength, HUGE);
  });

  test('a connection reset mid-body fails with reset', async () => {
    const r = await probe(`${srv.url}/reset`, httpModule());
    assert.equal(r.success, false);
    assert.equal(r.reason, 'reset', r.message);
  });

  test('gzip: compression decodes; without it nothing asks for gzip and a gzip body counts as sent (blackbox 0.28)', async () => {
    const m = httpModule({ compression: 'gzip' });
    const r = await probe(`${srv.url}/gzip`, m);
    assert.equal(r.success, true, r.message);
    assert.equal(r.http?.uncompressedBodyLength, 10_000);
    assert.ok((r.http?.contentLength ?? 0) > 0 && (r.http?.contentLength ?? 0) < 1000);
    const d = await probe(`${srv.url}/gzip`, httpModule());
    // prometheus/common's transport sets DisableCompression: no Accept-Encoding, no decoding.
    assert.equal(d.http?.contentLength, r.http?.contentLength);
    assert.equal(d.http?.uncompressedBodyLength, r.http?.contentLength);
  });

  test('basic_auth (with password_file) is sent', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-http-'));
    const file = path.join(dir, 'pw');
    writeFileSync(file, 's3cret\n');
    const noAuth = await probe(`${srv.url}/auth`, httpModule());
    assert.equal(noAuth.http?.statusCode, 401);
    const r = await probe(`${srv.url}/auth`, httpModule({ basic_auth: { username: 'probe', password_file: file } }));
    assert.equal(r.success, true, r.message);
  });

  test('method and body are sent; the hostname override becomes the Host header', async () => {
    const post = await probe(`${srv.url}/echo-post`, httpModule({ method: 'POST', body: 'ping', fail_if_body_not_matches_regexp: [/^POST ping$/] }));
    assert.equal(post.success, true, post.message);
    const m = withHostname(httpModule({ fail_if_body_not_matches_regexp: [/^host=status\.example$/] }), 'status.example');
    const r = await probe(`${srv.url}/echo-host`, m);
    assert.equal(r.success, true, r.message);
    assert.throws(() => withHostname(httpModule({ headers: { host: 'a.example' } }), 'b.example'), /defined both/);
  });

  test('a server that does not answer in time fails with timeout', async () => {
    const m = httpModule({}, 0.5);
    const t0 = Date.now();
    const r = await probe(`${srv.url}/hang`, m);
    assert.equal(r.reason, 'timeout');
    assert.ok(Date.now() - t0 < 1500);
    assert.equal(metric(await render(r, m), 'probe_http_status_code'), 0);
  });

  test('a refused connection fails with refused and zero series', async () => {
    const closed = await httpServer(() => undefined);
    const url = closed.url;
    await closed.close();
    const m = httpModule();
    const r = await probe(`${url}/`, m);
    assert.equal(r.reason, 'refused');
    const text = await render(r, m);
    assert.equal(metric(text, 'probe_success'), 0);
    assert.equal(metric(text, 'probe_http_duration_seconds{phase="transfer"}'), 0);
  });

  test('the TCP 5-tuple is registered with ctx.flows while connected and removed after', async () => {
    const added: Array<Parameters<FlowRegistry['addSocketFlow']>[0]> = [];
    const removed: number[] = [];
    const flows: FlowRegistry = {
      addSocketFlow: (f) => added.push(f),
      remove: (id) => void removed.push(id),
    };
    const r = await probe(`${srv.url}/redirect?n=1`, httpModule(), flows);
    assert.equal(r.success, true, r.message);
    assert.equal(added.length, 2, 'one flow per hop');
    for (const f of added) {
      assert.equal(f.protocol, 'tcp');
      assert.equal(f.remote, '127.0.0.1');
      assert.equal(f.remotePort, srv.port);
      assert.equal(f.local, '127.0.0.1');
      assert.ok(f.localPort > 0);
    }
    assert.deepEqual(removed.sort(), [1, 2]);
  });

  test('all_addresses gives one child per address; the parent fails if any child does', async () => {
    const r = await probe(`${srv.url}/ok`, httpModule({ all_addresses: true }));
    assert.equal(r.success, true, r.message);
    assert.equal(r.perAddress?.length, 1);
    assert.equal(r.perAddress?.[0].address, '127.0.0.1');
    const bad = await probe(`${srv.url}/status?code=500`, httpModule());
    const parent = combinePerAddress([r.perAddress![0], { ...bad, address: '127.0.0.2' }]);
    assert.equal(parent.success, false);
    assert.equal(parent.reason, 'http_status');
    assert.equal(parent.address, '127.0.0.2');
    assert.equal(parent.perAddress?.length, 2);
    assert.equal(combinePerAddress([r.perAddress![0], r.perAddress![0]]).success, true);
  });

  test('a malformed target or an unsupported scheme is a config result, not an exception', async () => {
    for (const target of ['http://[::1', 'ftp://127.0.0.1/', 'http://']) {
      const r = await probe(target, httpModule());
      assert.equal(r.success, false, target);
      assert.equal(r.reason, 'config', `${target}: ${r.message}`);
    }
  });

  test('bearer_token_file and body_file are read at probe time', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-http-'));
    writeFileSync(path.join(dir, 'token'), ' t0ken \n');
    writeFileSync(path.join(dir, 'body'), 'from a file');
    const auth = await probe(
      `${srv.url}/echo-auth`,
      httpModule({ bearer_token_file: path.join(dir, 'token'), fail_if_body_not_matches_regexp: [/^auth=Bearer t0ken$/] }),
    );
    assert.equal(auth.success, true, auth.message);
    const post = await probe(
      `${srv.url}/echo-post`,
      httpModule({ method: 'PUT', body_file: path.join(dir, 'body'), fail_if_body_not_matches_regexp: [/^PUT from a file$/] }),
    );
    assert.equal(post.success, true, post.message);
    const missing = await probe(`${srv.url}/echo-post`, httpModule({ body_file: path.join(dir, 'nope') }));
    assert.equal(missing.reason, 'config');
  });

  test('a rotated bearer_token_file takes effect on the next probe of the same module object', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-http-'));
    writeFileSync(path.join(dir, 'token'), 'one');
    const m = httpModule({ bearer_token_file: path.join(dir, 'token'), fail_if_body_not_matches_regexp: [/^auth=Bearer one$/] });
    assert.equal((await probe(`${srv.url}/echo-auth`, m)).success, true);
    writeFileSync(path.join(dir, 'token'), 'two');
    const r = await probe(`${srv.url}/echo-auth`, m);
    assert.equal(r.success, false, 'the spec of a module reading files is never reused');
    assert.equal(r.reason, 'regex_body');
  });
});

describe('http prober, per-probe costs', () => {
  test('probes of a module that reads no file share one request spec, made once', async () => {
    const m = httpModule({ headers: { 'X-Probe': 'yes' } });
    const first = await requestSpec('http://127.0.0.1:1/a', m);
    const again = requestSpec('http://127.0.0.1:1/a', m);
    assert.equal(again, first, 'the second probe gets the spec without a promise');
    assert.notEqual(await requestSpec('http://127.0.0.1:1/b', m), first, 'another target has its own');
    assert.notEqual(await requestSpec('http://127.0.0.1:1/a', httpModule()), first, 'another module has its own');
    const withFile = httpModule({ bearer_token_file: '/nonexistent' });
    const read = requestSpec('http://127.0.0.1:1/a', withFile);
    assert.ok(read instanceof Promise, 'a module reading files reads them per probe');
    await assert.rejects(read);
  });

  const head = 'HTTP/1.1 301 Moved\r\nServer: x\r\nLocation: /b\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nVia: 1\r\nvia: 2\r\nbad line\r\nLast-Modified:  Mon, 01 Jan 2024 00:00:00 GMT \r\n';
  const cases: Array<{ description: string; only?: ReadonlySet<string>; want: Record<string, string | string[]> }> = [
    {
      description: 'every field, repeated ones combined (Set-Cookie kept apart), lines without a colon skipped',
      want: { server: 'x', location: '/b', 'set-cookie': ['a=1', 'b=2'], via: '1, 2', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' },
    },
    { description: 'only the fields the prober reads', only: PROBER_HEADERS, want: { location: '/b', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' } },
  ];
  for (const c of cases) {
    test(`parseHead: ${c.description}`, () => {
      assert.deepEqual({ ...parseHead(head, c.only) }, c.want);
      assert.deepEqual({ ...parseHead(`${head}\r\n`, c.only) }, c.want, 'with the blank line that ends a head');
    });
  }
  test('parseHead: a status line alone has no fields', () => {
    assert.deepEqual({ ...parseHead('HTTP/1.1 200 OK') }, {});
  });
});
