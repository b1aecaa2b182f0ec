// The websocket prober, as blackbox main's prober/websocket.go: resolve the URL's host (resolve
// phase), dial the address chosen (connect), TLS and the HTTP upgrade (processing), then the
// query_response steps as messages (transfer): an `expect` reads the next message and matches it,
// a `send` writes a text message. Headers: basic_auth, authorization (and the rest of prometheus/
// common's Authorization sources), http_headers and the module's headers. Redirects are not
// followed, as gorilla's dialer does not.
import { performance } from 'node:perf_hooks';
import type { ClientRequest, IncomingMessage } from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type WebSocket from 'ws';
import { defaultWebsocket } from '../../config/defaults';
import type { Module, QueryResponse } from '../../config/types';
import type { ProbeResult } from '../../result';
import { authorizationHeader, extraHeaders } from '../client_auth';
import { Deadline } from '../deadline';
import { resolverFor } from '../dns/resolver';
import { failResult, ProbeFailure } from '../errors';
import { resolveForProbe } from '../resolve';
import { expandTemplate } from '../tcp/expand';
import { tlsClientOptions } from '../tcp/tls';
import type { ProbeContext, Prober } from '../types';
import { USER_AGENT } from '../../version';
import { undici, ws as wsPackage } from '../../util/heavy';
import { regexText } from '../../config/regex';

/** Messages as they arrive, read one at a time by the dialogue. */
class Inbox {
  private readonly queue: string[] = [];
  private wake: (() => void) | undefined;
  private closed: Error | undefined;
  constructor(ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => {
      this.queue.push(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
      this.notify();
    });
    ws.on('close', (code: number) => {
      this.closed ??= new ProbeFailure('expect_mismatch', `the server closed the WebSocket (code ${code}) before the expected message`);
      this.notify();
    });
    ws.on('error', (err: Error) => {
      this.closed ??= err;
      this.notify();
    });
  }
  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  async next(): Promise<string> {
    for (;;) {
      const m = this.queue.shift();
      if (m !== undefined) return m;
      if (this.closed) throw this.closed;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

async function headersFor(module: Module, abort: { readonly signal: AbortSignal }): Promise<Record<string, string>> {
  const w = module.websocket ?? defaultWebsocket();
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  for (const [name, value] of [...(await extraHeaders(w.http_config.http_headers)), ...(await extraHeaders(w.headers))]) {
    const k = name.toLowerCase();
    headers[k] = headers[k] === undefined || k === 'user-agent' ? value : `${headers[k]}, ${value}`;
  }
  const auth = await authorizationHeader(w.http_config, abort);
  if (auth !== undefined) headers.authorization = auth;
  return headers;
}

/** One step of blackbox's matchQueryResponse: read and match the next message, then send. */
async function step(qr: QueryResponse, i: number, inbox: Inbox, ws: WebSocket): Promise<void> {
  let send = qr.send ?? '';
  if (qr.expect) {
    const message = await inbox.next();
    const re = new RegExp(qr.expect.source, qr.expect.flags.replace(/[gy]/g, ''));
    const m = re.exec(message);
    if (!m) throw new ProbeFailure('expect_mismatch', `query_response[${i}]: message did not match /${regexText(qr.expect)}/`);
    send = expandTemplate(send, m);
  }
  if (send !== '') await new Promise<void>((resolve, reject) => ws.send(send, (err) => (err ? reject(err) : resolve())));
}

export const probeWebsocket: Prober = async (target: string, module: Module, ctx: ProbeContext) => {
  // The packages this probe will use (src/util/heavy.ts) load before its clock starts: a first
  // probe's phases and duration must not carry their load time.
  wsPackage();
  if ((module.websocket ?? defaultWebsocket()).http_config.oauth2) undici();
  const start = performance.now();
  const w = module.websocket ?? defaultWebsocket();
  const facts = { statusCode: 0, upgraded: false, failedDueToRegex: false };
  const result: ProbeResult = { target, module: module.name, prober: 'websocket', success: false, startedAt: Date.now(), durationSeconds: 0, phases: {}, websocket: facts };
  const deadline = new Deadline(ctx);
  deadline.phase = 'resolve';
  let ws: WebSocket | undefined;
  try {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new ProbeFailure('config', `could not parse target URL ${JSON.stringify(target)}`);
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const resolved = await resolveForProbe(host, w.preferred_ip_protocol, w.ip_protocol_fallback, deadline, resolverFor(undefined, ctx.runtime, ctx.gate), result);
    const address = resolved.addresses[0];
    const tlsOptions = url.protocol === 'wss:' ? await tlsClientOptions(w.http_config.tls_config, host) : undefined;
    const port = Number(url.port) || (tlsOptions ? 443 : 80);
    deadline.phase = 'connect';
    const dialStart = performance.now();
    let connectSeconds = 0;
    // The address chosen above (no second lookup); the URL's name stays in Host, SNI and the check.
    const createConnection = (): net.Socket => {
      const raw = net.connect({ host: address, port, family: resolved.family });
      raw.once('connect', () => {
        connectSeconds = (performance.now() - dialStart) / 1000;
        result.phases.connect = connectSeconds;
        deadline.phase = 'processing';
      });
      return tlsOptions ? tls.connect({ ...tlsOptions, socket: raw }) : raw;
    };
    const socket = new (wsPackage())(url, { headers: await headersFor(module, deadline), followRedirects: false, perMessageDeflate: false, createConnection });
    ws = socket;
    socket.on('error', () => undefined);
    deadline.signal.addEventListener('abort', () => socket.terminate(), { once: true });
    const inbox = new Inbox(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('upgrade', (res: IncomingMessage) => (facts.statusCode = res.statusCode ?? 0));
      socket.once('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
        facts.statusCode = res.statusCode ?? 0;
        res.resume();
        reject(new ProbeFailure('websocket_upgrade', `the server answered ${res.statusCode} instead of upgrading to a WebSocket`));
      });
      socket.once('error', reject);
    });
    result.phases.processing = Math.max(0, (performance.now() - dialStart) / 1000 - connectSeconds);
    facts.upgraded = true;
    if (w.query_response.length > 0) {
      deadline.phase = 'transfer';
      const transferStart = performance.now();
      try {
        for (const [i, qr] of w.query_response.entries()) await step(qr, i, inbox, socket);
      } catch (err) {
        // blackbox sets the regex gauge for any failed step (a read error too).
        facts.failedDueToRegex = true;
        throw err;
      } finally {
        result.phases.transfer = (performance.now() - transferStart) / 1000;
      }
    }
    result.success = true;
  } catch (err) {
    if (deadline.phase === 'processing' && result.phases.processing === undefined) result.phases.processing = 0;
    failResult(result, deadline.timedOut ?? err);
  } finally {
    deadline.close();
    ws?.terminate();
    result.durationSeconds = (performance.now() - start) / 1000;
  }
  return result;
};
