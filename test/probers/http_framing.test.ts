// Consistent verdicts: a malformed server gets the same result whichever transport reads it (the
// native stream engine's parser, or undici behind src/probers/http/head_fix.ts), and that result is
// Go's (blackbox_exporter 0.23, checked against the live binary when this table was written) where
// both take the response, the engine's parse error kind where they refuse it. undici's own wording
// and internal assertion text never reach a message.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import type { ProbeResult } from '../../src/result';
import { Runtime } from '../../src/runtime';
import { httpModule, probe } from './http_lab';
import { listen, type Listening } from './tcp_helpers';

const engine = new Runtime({ fastPath: true });
const undici = new Runtime({ fastPath: false });

interface Case {
  description: string;
  response: string;
  /** 'ok', or the failure's "reason: message" */
  want: string;
  /** probe_http_content_length (Go's Response.ContentLength) when the response was taken */
  contentLength?: number;
}

const malformed = (kind: string) => `protocol_error: malformed HTTP response (${kind})`;
const CASES: Case[] = [
  { description: 'bare-LF line ends (RFC 9112 2.2: a recipient MAY accept them; Go does)', response: 'HTTP/1.1 200 OK\nContent-Length: 2\nConnection: close\n\nok', want: 'ok', contentLength: 2 },
  { description: 'bare LF after one field only', response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\nConnection: close\r\n\r\nok', want: 'ok', contentLength: 2 },
  { description: 'Content-Length beside chunked Transfer-Encoding (RFC 9112 6.3: TE wins)', response: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\n\r\n', want: 'ok', contentLength: -1 },
  { description: '204 with bytes after the head (RFC 9110 15.3.5: no content)', response: 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\nhello body', want: 'ok', contentLength: 0 },
  { description: '204 with a Content-Length and a body', response: 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello body', want: 'ok', contentLength: 0 },
  { description: 'repeated identical Content-Length (RFC 9110 8.6)', response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok', want: 'ok', contentLength: 2 },
  { description: 'a Content-Length list of identical values', response: 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok', want: 'ok', contentLength: 2 },
  { description: 'an interim 100 before the response (RFC 9110 15.2)', response: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', want: 'ok', contentLength: 2 },
  { description: 'a 101 with no body', response: 'HTTP/1.1 101 Switching Protocols\r\n\r\n', want: 'http_status: invalid HTTP response status code 101', contentLength: 0 },
  { description: 'conflicting Content-Length values', response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', want: malformed('content_length') },
  { description: 'a negative Content-Length', response: 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok', want: malformed('content_length') },
  { description: 'whitespace before a colon (RFC 9112 5.1)', response: 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok', want: malformed('header_syntax') },
  { description: 'obs-fold (RFC 9112 5.2)', response: 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok', want: malformed('header_syntax') },
  { description: 'NUL in a field value', response: 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nok', want: malformed('header_syntax') },
  { description: 'not HTTP at all', response: 'hello', want: malformed('status_line') },
  { description: 'a four-digit status', response: 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok', want: malformed('status_line') },
  { description: 'a bad chunk size', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n', want: malformed('chunk_syntax') },
  { description: 'a body shorter than its Content-Length', response: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nok', want: malformed('truncated') },
  { description: 'a close before the head ends', response: 'HTTP/1.1 200 OK\r\n', want: malformed('truncated') },
  { description: 'a close with nothing sent', response: '', want: malformed('truncated') },
  { description: 'only an interim response, then the close', response: 'HTTP/1.1 100 Continue\r\n\r\n', want: malformed('truncated') },
];

let server: Listening;
before(async () => {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', (d: Buffer) => {
      const index = Number(d.toString('latin1').split(' ')[1]?.slice(1));
      s.end(CASES[index]?.response ?? '');
    });
  });
  server = await listen(srv, '127.0.0.1');
});
after(async () => {
  await server.close();
  engine.close();
  undici.close();
});

const verdict = (r: ProbeResult) => (r.success ? 'ok' : `${r.reason}: ${r.message}`);

CASES.forEach((c, i) => {
  test(`${c.description}: ${c.want} on both transports`, async () => {
    const url = `http://127.0.0.1:${server.port}/${i}`;
    for (const [name, runtime] of [['engine', engine], ['undici', undici]] as const) {
      const r = await probe(url, httpModule({}, 5), undefined, runtime);
      assert.equal(verdict(r), c.want, `${name}: ${JSON.stringify(c.response)}`);
      if (c.contentLength !== undefined) assert.equal(r.http?.contentLength, c.contentLength, `${name}: content length`);
    }
  });
});
