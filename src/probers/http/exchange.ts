// One HTTP request/response on one fresh connection (one redirect hop). Never throws: transport
// and protocol failures come back as `failure` with the phases measured up to that point.
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import { Client, type Dispatcher } from 'undici';
import type { TLSFacts } from '../../result';
import { classifyError, malformedResponse, ProbeFailure } from '../errors';
import { fastHTTP, fastPathFor, goContentLength } from '../fast';
import type { Runtime } from '../../runtime';
import type { FlowRegistry } from '../types';
import { type ClientTLSOptions, type ConnState, makeConnector } from './connector';
import { MAX_HEAD_BYTES } from './head_fix';
import { connectRequest, proxyAuthorization } from './proxy';

export interface ExchangeInput {
  url: URL;
  address: string;
  method: string;
  /** lower-case names; includes host */
  headers: Record<string, string>;
  body?: Buffer;
  tls?: ClientTLSOptions;
  /** through this proxy (its resolved address): absolute-form for http://, a CONNECT tunnel for https:// */
  proxy?: { url: URL; address: string; port: number; connectHeaders: Record<string, string[]> };
  /** module compression: decode responses that use it */
  compression: string;
  /** 0: none */
  bodySizeLimit: number;
  /**
   * bytes of the decoded body to keep for the body rules (module body_rules_window), 0: none. The
   * rest is still read and counted, as blackbox reads the whole body, but never held.
   */
  bodyWindow: number;
  /** an AbortController or the ProbeContext; read only off the fast path (a probe's signal is made lazily) */
  /** the probe's context: its signal, and ProbeContext.cancellable for the engine's probes */
  abort: { readonly signal: AbortSignal; cancellable?(cancel: () => void): void };
  /** performance.now() by which the exchange must end */
  deadline: number;
  flows?: FlowRegistry;
  /** the probe's runtime: whether the fast path is allowed, and its stream engines */
  runtime: Runtime;
  /** where the fast path keeps the request bytes it made, for the next probe sending the same request */
  wire?: { wire?: Buffer };
  /** every response header field is needed (header rules); else only those the prober reads */
  allHeaders?: boolean;
}

export interface ExchangeOutcome {
  /** seconds: connect, tls, processing, transfer (only those that happened) */
  phases: Record<string, number>;
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** "1.0" / "1.1" / "2.0"; undefined without a response */
  httpVersion?: string;
  tls?: TLSFacts;
  /** Content-Length as Go reports it: -1 when absent or transparently decoded */
  contentLength: number;
  uncompressedLength: number;
  body?: Buffer;
  failure?: ProbeFailure;
}

// blackbox's getDecompressionReader (prober/http.go, v0.28.0): compress/gzip, compress/flate (raw
// DEFLATE, RFC 1951: no zlib wrapper) and brotli.
const DECODERS: Record<string, () => zlib.Gunzip | zlib.InflateRaw | zlib.BrotliDecompress> = {
  gzip: () => zlib.createGunzip(),
  deflate: () => zlib.createInflateRaw(),
  br: () => zlib.createBrotliDecompress(),
};

function headerValue(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The phases of one hop, as src/result.ts defines them for every transport. */
function phasesOf(state: ConnState, end: number): Record<string, number> {
  const m = state.marks;
  const p: Record<string, number> = {};
  const s = (a: number, b: number) => Math.max(0, (b - a) / 1000);
  if (m.connected) p.connect = s(m.connectStart, m.connected);
  if (m.tlsDone) p.tls = s(m.connected, m.tlsDone);
  else if (m.connected && state.stage === 'tls') p.tls = s(m.connected, end); // the handshake failed: it lasted until now
  if (m.firstByte) {
    // From the connection (Go's GotConn: after the TLS handshake, if any), as blackbox and the
    // native engine measure it: writing the request is part of processing.
    p.processing = s(m.tlsDone || m.connected, m.firstByte);
    p.transfer = s(m.firstByte, end);
  }
  return p;
}

/**
 * One hop. Plain HTTP whose answer needs no body (no body rules, no decoding) runs on the native
 * stream engine; everything else, and a gzip answer Go's transport would decode, runs on undici.
 */
export async function exchange(input: ExchangeInput): Promise<ExchangeOutcome> {
  // The engine dials the target itself; a proxied request goes through undici's connector.
  if (fastPathFor(input.runtime, input.flows) && !input.proxy && !input.tls && input.bodyWindow === 0 && !input.compression && input.url.protocol === 'http:') {
    return fastHTTP({
      url: input.url,
      address: input.address,
      port: Number(input.url.port) || 80,
      method: input.method,
      headers: input.headers,
      body: input.body,
      bodySizeLimit: input.bodySizeLimit,
      deadline: input.deadline,
      flows: input.flows,
      owner: input.abort,
      stream: input.runtime.stream,
      wire: input.wire,
      allHeaders: input.allHeaders !== false,
    });
  }
  return exchangeUndici(input);
}

/**
 * undici's errors about what the server sent, as the failures the engine gives for the same bytes;
 * undefined for the others. Its own wording (and internal assertion text) never reaches a result.
 */
function undiciParseFailure(err: unknown, headSeen: boolean): ProbeFailure | undefined {
  // llhttp's refusals: undici 7 leaves their code undefined (it indexes its name table by number).
  // The status line and the framing fields were checked in head_fix.ts: what llhttp can still
  // refuse is a field's syntax in the head, or the chunked framing after it.
  if ((err as { name?: unknown } | undefined)?.name === 'HTTPParserError') return malformedResponse(headSeen ? 'chunk_syntax' : 'header_syntax');
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  // The connection ended (FIN, no RST: that is state.socketError) before the response did.
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return malformedResponse('truncated');
  if (code === 'UND_ERR_SOCKET') {
    const message = (err as Error).message;
    if (message === 'other side closed') return malformedResponse('truncated');
    if (message === 'bad response' || message === 'bad upgrade') return malformedResponse('status_line');
  }
  if (code === 'ERR_ASSERTION') return malformedResponse('unexpected response');
  return undefined;
}

function exchangeUndici(input: ExchangeInput): Promise<ExchangeOutcome> {
  const state: ConnState = {
    marks: { connectStart: 0, connected: 0, tlsDone: 0, firstByte: 0 },
    stage: 'connecting',
    sockets: [],
  };
  const port = Number(input.url.port) || (input.url.protocol === 'https:' ? 443 : 80);
  const p = input.proxy;
  const target = p
    ? { address: p.address, port: p.port, tls: input.tls, flows: input.flows, tunnel: input.tls ? connectRequest(`${input.url.hostname}:${port}`, p.url, p.connectHeaders) : undefined }
    : { address: input.address, port, tls: input.tls, flows: input.flows };
  // A plain request to a proxy names the whole URL (RFC 9112 section 3.2.2 absolute-form).
  const absolute = p !== undefined && !input.tls;
  const proxyAuth = absolute ? proxyAuthorization(p.url) : undefined;
  const client = new Client(input.url.origin, {
    connect: makeConnector(target, state),
    // The probe's deadline bounds everything; undici's own timers would race it.
    headersTimeout: 0,
    bodyTimeout: 0,
    pipelining: 1,
    // The engine's head limit (undici's default is Node's 16 KiB): one verdict for a large head.
    maxHeaderSize: MAX_HEAD_BYTES,
    // HTTP/2 only where the TLS options offer h2 (enable_http2); undici follows the ALPN result.
    allowH2: input.tls?.ALPNProtocols !== undefined,
  });

  return new Promise<ExchangeOutcome>((resolve) => {
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    let contentLength = 0;
    let uncompressed = 0;
    const chunks: Buffer[] = [];
    let kept = 0;
    let decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined;
    let controller: Dispatcher.DispatchController | undefined;
    let done = false;

    // Whatever ends the read (the end of the body, a body error, the deadline) ends the transfer
    // phase, as blackbox's trace.end after its body read.
    const finish = (failure?: ProbeFailure) => {
      if (done) return;
      done = true;
      const end = performance.now();
      input.abort.signal.removeEventListener('abort', onAbort);
      decoder?.destroy();
      client.destroy().catch(() => undefined);
      for (const s of state.sockets) s.destroy();
      state.untrack?.();
      resolve({
        phases: phasesOf(state, end),
        statusCode,
        headers,
        httpVersion: statusCode ? (state.httpVersion ?? '1.1') : undefined,
        tls: state.tls,
        contentLength,
        uncompressedLength: uncompressed,
        body: input.bodyWindow > 0 && statusCode ? Buffer.concat(chunks, kept) : undefined,
        failure,
      });
    };
    const failWith = (err: unknown) => {
      const only = state.heads?.final;
      if (only && statusCode === 0) {
        // A 101: the engine takes it as the whole response (no body), and so does this path.
        statusCode = only.statusCode;
        headers = only.headers;
        state.httpVersion = only.httpVersion;
        contentLength = goContentLength(statusCode, -1);
        return finish();
      }
      const cause = state.socketError ?? err;
      if (cause instanceof ProbeFailure) return finish(cause);
      const parse = undiciParseFailure(cause, statusCode > 0);
      if (parse) return finish(parse);
      const { reason, message } = classifyError(cause);
      finish(new ProbeFailure(reason, message));
    };
    function onAbort() {
      const reason = state.stage === 'connecting' ? 'connect_timeout' : 'timeout';
      const what = state.stage === 'connecting' ? `connecting to ${input.address}:${port}` : `${input.method} ${input.url.href}`;
      controller?.abort(new ProbeFailure(reason, `${what} did not finish before the deadline`));
      finish(new ProbeFailure(reason, `${what} did not finish before the deadline`));
    }
    if (input.abort.signal.aborted) return onAbort();
    input.abort.signal.addEventListener('abort', onAbort, { once: true });

    const count = (chunk: Buffer) => {
      uncompressed += chunk.length;
      if (input.bodySizeLimit > 0 && uncompressed > input.bodySizeLimit) {
        // Go's http.MaxBytesReader hands out the bytes up to the limit, then the error: blackbox
        // (and the engine) count the limit, not what the last read happened to bring.
        uncompressed = input.bodySizeLimit;
        const err = new ProbeFailure('body_too_large', `the response body exceeded body_size_limit (${input.bodySizeLimit} bytes)`);
        controller?.abort(err);
        finish(err);
        return;
      }
      if (kept < input.bodyWindow) {
        // A copy of the part kept: a slice would hold the whole chunk (and undici's pool) alive.
        const part = chunk.length <= input.bodyWindow - kept ? chunk : Buffer.from(chunk.subarray(0, input.bodyWindow - kept));
        chunks.push(part);
        kept += part.length;
      }
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
      },
      onResponseStart(_c, code, h) {
        // HTTP/2 reads bypass instrument(): the response head is its first byte (Go's
        // GotFirstResponseByte is the first header frame too).
        if (state.marks.firstByte === 0) state.marks.firstByte = performance.now();
        statusCode = code;
        headers = h;
        const cl = headerValue(h, 'content-length');
        contentLength = goContentLength(code, cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : -1);
        // blackbox 0.28 decodes the body blindly when compression is set, whatever Content-Encoding
        // says ("the configuration says we should expect the response to be compressed in that way"):
        // a body that does not decode (an empty one too) fails the probe.
        const encoding = input.compression;
        if (encoding && DECODERS[encoding]) {
          decoder = DECODERS[encoding]();
          decoder.on('data', count);
          decoder.on('error', (err) => finish(new ProbeFailure('protocol_error', `decoding the body as ${encoding} (compression: ${encoding}): ${err.message}`)));
        }
      },
      onResponseData(c, chunk) {
        if (!decoder) return count(chunk);
        // A small compressed chunk can decode to megabytes (a gzip bomb): the socket waits while
        // the decoder is behind, or the compressed input would queue without bound.
        if (!decoder.write(chunk) && !c.paused) {
          c.pause();
          decoder.once('drain', () => {
            if (!done) c.resume();
          });
        }
      },
      onResponseEnd() {
        // undici ends a body read until the close at an RST too (client-h1.js); Go and the engine fail it.
        if (state.socketError) return failWith(state.socketError);
        if (!decoder) return finish();
        decoder.once('end', () => finish());
        decoder.end();
      },
      onResponseError(_c, err) {
        failWith(err);
      },
    };
    try {
      client.dispatch(
        {
          origin: input.url.origin,
          path: absolute ? input.url.href : input.url.pathname + input.url.search,
          method: input.method as Dispatcher.HttpMethod,
          headers: proxyAuth ? { ...input.headers, 'proxy-authorization': proxyAuth } : input.headers,
          body: input.body,
          // connection: close, as src/probers/http/wire.ts writes it for the engine: one request set.
          reset: true,
        },
        handler,
      );
    } catch (err) {
      failWith(err);
    }
  });
}
