// Brings the response heads undici reads to the framing the native stream engine's parser
// (native/stream/http_parse.cc) and Go's net/http (blackbox) accept, so that a malformed server
// gets the same verdict on both transports. undici's parser (llhttp, strict) refuses what they
// take: bare-LF line ends (RFC 9112 2.2: a recipient MAY accept them), Content-Length beside
// Transfer-Encoding (RFC 9112 6.3 item 3: Transfer-Encoding wins), a length on a 204 or 304 (RFC
// 9112 6.3 item 1: no body whatever the fields say), repeated identical lengths (RFC 9110 8.6), and
// interim 1xx responses (RFC 9110 15.2: a client must skip them). What both refuse stays refused,
// with the engine's failure kinds (malformedResponse in ../errors.ts). HTTP/1.x only; h2 is framed.
import type { IncomingHttpHeaders } from 'node:http';
import { malformedResponse, ProbeFailure } from '../errors';
import { parseHead } from '../fast';

// The engine's limit (HttpResponseParser::kDefaultMaxHeaderBytes); undici is given the same.
export const MAX_HEAD_BYTES = 64 * 1024;
// http_parse.cc kMaxContentLength: far above any real body.
const MAX_CONTENT_LENGTH = 2 ** 53;
const STATUS_PREFIX = Buffer.from('HTTP/1.', 'latin1');

/** A 101 ends the exchange with its head: the engine's verdict (no body, the status decides). */
export interface HeadOnlyResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  httpVersion: string;
}

/** Index just past the blank line that ends a head (CRLF or bare LF ends), or -1. */
function headEnd(buf: Buffer): number {
  for (let i = buf.indexOf(10); i >= 0 && i + 1 < buf.length; i = buf.indexOf(10, i + 1)) {
    if (buf[i + 1] === 10) return i + 2;
    if (buf[i + 1] === 13 && i + 2 < buf.length && buf[i + 2] === 10) return i + 3;
  }
  return -1;
}

/** The one value of Content-Length fields (each a list of identical numbers), or a failure. */
function contentLength(values: string[]): number | ProbeFailure {
  let value = -1;
  for (const field of values) {
    for (const part of field.split(',')) {
      const t = part.trim();
      if (!/^[0-9]+$/.test(t) || Number(t) > MAX_CONTENT_LENGTH || (value >= 0 && Number(t) !== value)) return malformedResponse('content_length');
      value = Number(t);
    }
  }
  return value;
}

type Fixed = { head: string; noBody: boolean } | { interim: true } | { final: HeadOnlyResponse } | ProbeFailure;

/** One complete head (without its blank line), canonical. */
function fixHead(text: string): Fixed {
  const lines = text.split(/\r?\n/);
  // RFC 9112 4: HTTP-version SP 3DIGIT SP reason, as http_parse.cc reads it (no reason at all is tolerated).
  const status = /^HTTP\/1\.(\d) ([1-9]\d\d)(?:$| [\t\x20-\x7e\x80-\xff]*$)/.exec(lines[0]);
  if (!status) return malformedResponse('status_line');
  const code = Number(status[2]);
  if (code >= 100 && code < 200 && code !== 101) return { interim: true };
  if (code === 101) return { final: { statusCode: 101, headers: parseHead(lines.join('\r\n')), httpVersion: `1.${status[1]}` } };
  const lengths: string[] = [];
  let chunkedOrTE = false;
  const kept = [lines[0]];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : '';
    if (name === 'content-length') {
      lengths.push(line.slice(colon + 1));
      continue;
    }
    if (name === 'transfer-encoding') chunkedOrTE = true;
    kept.push(line);
  }
  const noBody = code === 204 || code === 304;
  if (lengths.length > 0) {
    const n = contentLength(lengths);
    if (n instanceof ProbeFailure) return n;
    if (!chunkedOrTE && !noBody) kept.push(`Content-Length: ${n}`);
  }
  return { head: kept.join('\r\n'), noBody };
}

/** Feeds the bytes a socket read to undici through fix(); one per connection. */
export class HeadFixer {
  private pending: Buffer | undefined;
  private state: 'head' | 'body' | 'discard' = 'head';
  /** set when the response is a 101: the caller ends the exchange with it */
  final: HeadOnlyResponse | undefined;

  /**
   * The bytes undici should see for `chunk` (null: none yet). `fail` ends the connection with a
   * failure; `version` reports the final head's HTTP version.
   */
  fix(chunk: Buffer, fail: (f: ProbeFailure) => void, version: (v: string) => void): Buffer | null {
    if (this.state === 'body') return chunk;
    if (this.state === 'discard') return null;
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    for (;;) {
      const end = headEnd(buf);
      if (end < 0) {
        // Refused at the first wrong byte, as the engine does, not when the connection ends.
        const prefix = Math.min(buf.length, STATUS_PREFIX.length);
        if (!buf.subarray(0, prefix).equals(STATUS_PREFIX.subarray(0, prefix))) {
          fail(malformedResponse('status_line'));
          this.state = 'discard';
          return null;
        }
        if (buf.length > MAX_HEAD_BYTES) {
          fail(malformedResponse('headers_too_large'));
          this.state = 'discard';
          return null;
        }
        this.pending = buf;
        return null;
      }
      const text = buf.subarray(0, end).toString('latin1').replace(/\r?\n\r?\n$/, '');
      const rest = buf.subarray(end);
      const fixed = fixHead(text);
      if (fixed instanceof ProbeFailure) {
        fail(fixed);
        this.state = 'discard';
        return null;
      }
      if ('interim' in fixed) {
        buf = rest;
        if (buf.length === 0) return null;
        continue;
      }
      if ('final' in fixed) {
        this.final = fixed.final;
        this.state = 'discard';
        fail(new ProbeFailure('protocol_error', 'the response was a 101 (no body follows)'));
        return null;
      }
      const m = /^HTTP\/(1\.\d)/.exec(fixed.head);
      if (m) version(m[1]);
      this.state = fixed.noBody ? 'discard' : 'body';
      const head = Buffer.from(`${fixed.head}\r\n\r\n`, 'latin1');
      return fixed.noBody || rest.length === 0 ? head : Buffer.concat([head, rest]);
    }
  }
}
