// `compression` as blackbox 0.28 has it (prober/http.go getDecompressionReader; prometheus/common
// v0.67.4 config/http_config.go sets DisableCompression on the transport): no Accept-Encoding is
// sent unless the module's headers have one, and with compression set the body is decoded as that
// algorithm whatever Content-Encoding says (a body that does not decode fails the probe).
// probe_http_content_length is the Content-Length as sent, the uncompressed length what was decoded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { brotliCompressSync, deflateRawSync, gzipSync } from 'node:zlib';
import type { HTTPModule } from '../../src/config/types';
import { httpModule, httpServer, type LocalServer, metric, probe, render } from './http_lab';

const PLAIN = Buffer.alloc(10_000, 'sonde ');
const BODIES: Record<string, { body: Buffer; encoding?: string }> = {
  '/gzip': { body: gzipSync(PLAIN), encoding: 'gzip' },
  '/deflate': { body: deflateRawSync(PLAIN), encoding: 'deflate' },
  '/br': { body: brotliCompressSync(PLAIN), encoding: 'br' },
  // a server that ignores Accept-Encoding
  '/plain': { body: PLAIN },
};

const acceptEncoding: Array<string | undefined> = [];
let srv: LocalServer;
before(async () => {
  srv = await httpServer((req, res) => {
    acceptEncoding.push(req.headers['accept-encoding']);
    if (req.url === '/empty') return void res.writeHead(204).end();
    const b = BODIES[req.url ?? ''];
    res.writeHead(200, { 'Content-Length': String(b.body.length), ...(b.encoding ? { 'Content-Encoding': b.encoding } : {}) });
    res.end(b.body);
  });
});
after(() => srv.close());

const CASES: Array<{ what: string; path: string; over: Partial<HTTPModule>; sent?: string; success: boolean; contentLength?: number; bodyLength?: number }> = [
  { what: 'unset: nothing asked, a gzip body counts as sent', path: '/gzip', over: {}, success: true, contentLength: BODIES['/gzip'].body.length, bodyLength: BODIES['/gzip'].body.length },
  { what: 'gzip: no Accept-Encoding of its own, the body decoded', path: '/gzip', over: { compression: 'gzip' }, success: true, contentLength: BODIES['/gzip'].body.length, bodyLength: PLAIN.length },
  { what: 'gzip with the header in headers: sent as written', path: '/gzip', over: { compression: 'gzip', headers: { 'Accept-Encoding': 'gzip, br' } }, sent: 'gzip, br', success: true, bodyLength: PLAIN.length },
  { what: 'deflate is raw DEFLATE (Go compress/flate)', path: '/deflate', over: { compression: 'deflate' }, success: true, bodyLength: PLAIN.length },
  { what: 'br', path: '/br', over: { compression: 'br' }, success: true, contentLength: BODIES['/br'].body.length, bodyLength: PLAIN.length },
  { what: 'identity: no decoding', path: '/gzip', over: { compression: 'identity' }, success: true, bodyLength: BODIES['/gzip'].body.length },
  { what: 'gzip set, a plain body: decoding fails the probe', path: '/plain', over: { compression: 'gzip' }, success: false },
  { what: 'gzip set, an empty 204: decoding fails the probe (Go gzip.NewReader: EOF)', path: '/empty', over: { compression: 'gzip' }, success: false, contentLength: 0 },
  { what: 'unset, an empty 204', path: '/empty', over: {}, success: true, contentLength: 0, bodyLength: 0 },
];

for (const c of CASES) {
  test(`compression ${c.what}`, async () => {
    acceptEncoding.length = 0;
    const m = httpModule(c.over);
    const r = await probe(`${srv.url}${c.path}`, m);
    assert.equal(r.success, c.success, `${r.reason}: ${r.message}`);
    if (!c.success) assert.equal(r.reason, 'protocol_error');
    assert.deepEqual(acceptEncoding, [c.sent]);
    const text = await render(r, m);
    if (c.contentLength !== undefined) assert.equal(metric(text, 'probe_http_content_length'), c.contentLength);
    if (c.bodyLength !== undefined) assert.equal(metric(text, 'probe_http_uncompressed_body_length'), c.bodyLength);
  });
}
