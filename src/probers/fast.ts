// The fast path: plain TCP connects and plain-HTTP exchanges run on the native stream engine
// (its own thread, epoll, no per-probe JS sockets) instead of Node sockets and undici. Only
// probes whose every option the engine honours take it; TLS, dialogues, body rules and decoding
// stay on the rich path. A runtime made with fastPath false (the default under SONDE_FAST_PATH=0)
// sends everything the rich way: the prober suites run both ways and must give the same results.
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { CancelOwner, StreamPool, StreamRequest, StreamResult } from '../native/stream';
import { fastPathFromEnv, type Runtime } from '../runtime';
import { classifyError, malformedResponse, ProbeFailure } from './errors';
import { requestBytes } from './http/wire';
import { sourcePorts } from './source_ports';
import type { FlowRegistry } from './types';

/** false under SONDE_FAST_PATH=0 (read on each call): every /probe request takes the TypeScript path. */
export function fastPathEnabled(): boolean {
  return fastPathFromEnv();
}

/**
 * Whether a probe may take the fast path: its runtime allows it, and its flow registry (if any) can
 * register a flow by port (src/probers/source_ports.ts); else the Node socket path, where the
 * 5-tuple is known.
 */
export function fastPathFor(runtime: Runtime, flows: FlowRegistry | undefined): boolean {
  return runtime.fastPath && (!flows || flows.addPortFlow !== undefined);
}

export function remainingMs(deadline: number): number {
  return Math.max(1, Math.floor(deadline - performance.now()));
}

/** The engine's outcome as one of sonde's failure reasons (undefined: success). */
export function streamFailure(r: StreamResult, what: string): ProbeFailure | undefined {
  if (r.errno === 0) return undefined;
  if (r.code === 'ECANCELED') return new ProbeFailure('cancelled', `${what} was cancelled (${r.phase} phase)`);
  if (r.phase === 'shed') return new ProbeFailure('shed', `${what} was shed: the stream engine's queue for its QoS class was past its bound`);
  if (r.code === 'ETIMEDOUT') {
    const connecting = r.phase === 'connect' || r.phase === 'queued';
    return new ProbeFailure(connecting ? 'connect_timeout' : 'timeout', `${what} did not finish before the deadline (${r.phase} phase)`);
  }
  if (r.code === 'EPROTO') {
    if (r.parseError === 'body_too_large') return new ProbeFailure('body_too_large', 'the response body exceeded body_size_limit');
    return malformedResponse(r.parseError ?? 'parse error');
  }
  const { reason, message } = classifyError({ code: r.code, message: `${what}: ${r.code}` });
  return new ProbeFailure(reason, message);
}

/**
 * Runs one engine probe (`req` is the caller's own: its sourcePort is set here). With an eBPF flow
 * registry, the probe binds a source port sonde holds and registers it first, so that even a
 * dropped first SYN (or datagram) is attributed to it.
 */
export async function engineProbe(stream: StreamPool, req: StreamRequest, flows: FlowRegistry | undefined, owner: CancelOwner | undefined): Promise<StreamResult> {
  if (!flows?.addPortFlow) return stream.probe(req, owner);
  // A probe that does not close gracefully ends with a reset (connect-only), or once the server has
  // closed (HTTP), and the engine keeps its socket bound to the port for the next one
  // (native/stream KeepBound); a datagram socket is kept after its answer: warm ports first. A
  // datagram port whose exchange failed rests at the back of the queue: a late answer may follow.
  const warm = !req.graceful;
  const datagram = req.datagram !== undefined;
  // A port a local service listens on fails with EADDRINUSE: move on to the next one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = warm ? sourcePorts.takeWarm(req.port) : sourcePorts.take(req.port);
    if (port === undefined) break;
    const id = flows.addPortFlow(datagram ? 'udp' : 'tcp', port);
    req.sourcePort = port;
    let clean = !datagram;
    try {
      const r = await stream.probe(req, owner);
      clean ||= r.errno === 0;
      if (r.code !== 'EADDRINUSE') return r;
    } finally {
      if (id > 0) flows.remove(id);
      if (warm && clean) sourcePorts.giveWarm(port);
      else sourcePorts.give(port);
    }
  }
  req.sourcePort = undefined;
  return stream.probe(req, owner);
}

/** A TCP connect probe: the connect time in seconds (also of a failed attempt) and the failure, if any. */
export async function fastConnect(
  address: string,
  port: number,
  opts: { stream: StreamPool; sourceAddress?: string; resetOnClose: boolean; deadline: number; flows?: FlowRegistry; owner?: CancelOwner },
): Promise<{ seconds: number; failure?: ProbeFailure }> {
  const r = await engineProbe(
    opts.stream,
    { address, port, sourceAddress: opts.sourceAddress, graceful: !opts.resetOnClose, timeoutMs: remainingMs(opts.deadline), sourcePort: undefined },
    opts.flows,
    opts.owner,
  );
  return { seconds: r.timings.connect, failure: streamFailure(r, `connecting to ${address}:${port}`) };
}

/** The fields the http prober reads itself; the others matter only to header rules. */
export const PROBER_HEADERS: ReadonlySet<string> = new Set(['content-encoding', 'location', 'last-modified']);

/**
 * Response header fields from the raw head, as Node's IncomingHttpHeaders (lower-case names);
 * with `only`, just those fields (the rest of a head costs a string per field for nothing).
 */
export function parseHead(head: string, only?: ReadonlySet<string>): IncomingHttpHeaders {
  // No prototype: a field named by the server ("__proto__", "constructor") is just a field.
  const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  let start = head.indexOf('\r\n'); // the status line is not a field
  while (start >= 0 && start < head.length) {
    start += 2;
    let end = head.indexOf('\r\n', start);
    if (end < 0) end = head.length;
    const colon = head.indexOf(':', start);
    if (colon > start && colon < end) {
      const name = head.slice(start, colon).trim().toLowerCase();
      if (only === undefined || only.has(name)) {
        const value = head.slice(colon + 1, end).trim();
        const prev = headers[name];
        if (prev === undefined) headers[name] = value;
        else if (name === 'set-cookie') headers[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
        else headers[name] = `${prev as string}, ${value}`; // RFC 9110 section 5.3: fields combine with commas
      }
    }
    start = end;
  }
  return headers as IncomingHttpHeaders;
}

/**
 * Content-Length as Go's Response.ContentLength gives it (net/http transfer.go fixLength): 0 for
 * a status that has no body (1xx, 204, 304) whatever the head said, else the field (-1: none).
 */
export function goContentLength(statusCode: number, field: number): number {
  return statusCode < 200 || statusCode === 204 || statusCode === 304 ? 0 : field;
}

export interface FastExchange {
  phases: Record<string, number>;
  statusCode: number;
  headers: IncomingHttpHeaders;
  httpVersion?: string;
  contentLength: number;
  uncompressedLength: number;
  failure?: ProbeFailure;
}

/**
 * One plain-HTTP request/response on a fresh connection. No Accept-Encoding is added (prometheus/
 * common's transport sets DisableCompression), so a body is counted as sent.
 */
export async function fastHTTP(input: {
  url: URL;
  address: string;
  port: number;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  bodySizeLimit: number;
  deadline: number;
  stream: StreamPool;
  flows?: FlowRegistry;
  /** the probe's context, which may cancel it (ProbeContext.cancellable) */
  owner?: CancelOwner;
  /** keeps the request bytes for the next probe sending the same request (the engine copies them) */
  wire?: { wire?: Buffer };
  /** parse every header field (header rules need them), not just PROBER_HEADERS */
  allHeaders: boolean;
}): Promise<FastExchange> {
  let bytes = input.wire?.wire;
  if (bytes === undefined) {
    bytes = requestBytes(input.method, input.url.pathname + input.url.search, input.headers.host ?? input.url.host, input.headers, input.body);
    if (input.wire) input.wire.wire = bytes;
  }
  const r = await engineProbe(
    input.stream,
    {
      address: input.address,
      port: input.port,
      timeoutMs: remainingMs(input.deadline),
      request: bytes,
      headRequest: input.method === 'HEAD',
      bodyLimit: input.bodySizeLimit,
      sourcePort: undefined, // present from the start: engineProbe() sets it, and a new property would change the object's shape
    },
    input.flows,
    input.owner,
  );
  const headers = r.head ? parseHead(r.head, input.allHeaders ? undefined : PROBER_HEADERS) : {};
  // Phases as src/result.ts defines them; the engine's clock: connected -> first byte -> end of read.
  const phases: Record<string, number> = { connect: r.timings.connect };
  if (r.statusCode > 0) {
    phases.processing = r.timings.processing;
    phases.transfer = r.timings.transfer;
  }
  return {
    phases,
    statusCode: r.statusCode,
    headers,
    httpVersion: r.statusCode ? (r.httpVersion === 1 ? '1.0' : '1.1') : undefined,
    contentLength: goContentLength(r.statusCode, r.contentLength),
    uncompressedLength: r.bodyBytes,
    failure: streamFailure(r, `${input.method} ${input.url.href}`),
  };
}
