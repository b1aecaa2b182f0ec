// The TCP prober, as blackbox_exporter's prober/tcp.go + query_response.go: resolve HOST:PORT,
// connect (from source_ip_address when set), optionally TLS from the first byte, then the
// query_response dialogue with STARTTLS upgrades. Phases: resolve, connect, tls, dialogue.
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { Module, TCPModule } from '../../config/types';
import type { ProbeResult } from '../../result';
import { failResult, ProbeFailure } from '../errors';
import { fastConnect, fastPathFor } from '../fast';
import { trackSocketFlow } from '../flows';
import { resolverFor } from '../dns/resolver';
import { resolveLocal, resolveTarget } from '../resolve';
import { selfConnectError, selfConnected } from '../self_connect';
import { runDialogue, type DialogueIO } from './dialogue';
import { LineReader } from './lines';
import { handshake, tlsClientOptions } from './tls';
import { tlsFactsFromSocket } from '../tls_facts';
import type { ProbeContext, Prober } from '../types';

/** Go's net.SplitHostPort: "host:port" or "[v6]:port"; a bare IPv6 address is an error. */
export function splitHostPort(target: string): { host: string; port: number } {
  let host: string;
  let portText: string;
  if (target.startsWith('[')) {
    const close = target.indexOf(']');
    if (close < 0) throw new ProbeFailure('config', `target ${target}: missing ']' in address`);
    if (target[close + 1] !== ':') throw new ProbeFailure('config', `target ${target}: missing port in address`);
    host = target.slice(1, close);
    portText = target.slice(close + 2);
  } else {
    const colon = target.lastIndexOf(':');
    if (colon < 0) throw new ProbeFailure('config', `target ${target}: missing port in address (want HOST:PORT)`);
    host = target.slice(0, colon);
    portText = target.slice(colon + 1);
    if (host.includes(':')) throw new ProbeFailure('config', `target ${target}: too many colons in address (write IPv6 as [addr]:port)`);
  }
  // Go would also look service names up in /etc/services; sonde takes numbers only.
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new ProbeFailure('config', `target ${target}: port must be a number from 1 to 65535`);
  }
  return { host, port: Number(portText) };
}

type Phase = 'resolve' | 'connect' | 'tls' | 'dialogue' | 'done';

/**
 * One probe's connection, phase clock and deadline, whichever transport carries it: a bare connect
 * runs whole on the native stream engine when the runtime allows it (src/probers/fast.ts), anything
 * that reads or writes on the connection (TLS, a dialogue) on Node sockets. Results, phases,
 * failure reasons and the deadline are the same on both. close() releases everything.
 */
class TCPRun {
  /** the TCP socket, then each TLS layer over it; the last one is where the dialogue reads and writes */
  private readonly layers: net.Socket[] = [];
  private phase: Phase = 'resolve';
  private phaseStart = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private controller: AbortController | undefined;
  private onAbort: (() => void) | undefined;
  private untrack: () => void = () => undefined;
  /** end a connect-only Node socket with RST, as the engine does (reset_on_close) */
  private resetOnClose = false;
  /** set when the deadline passed; it wins over whatever error the torn-down socket reports */
  timedOut: ProbeFailure | undefined;

  constructor(
    private readonly ctx: ProbeContext,
    private readonly result: ProbeResult,
  ) {}

  /**
   * Aborted at the deadline, for a name lookup and the Node sockets. Made on first use: a bare
   * connect to an address on the engine needs no timer (the engine keeps the deadline itself).
   */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      this.onAbort = () => this.expire();
      this.ctx.signal.addEventListener('abort', this.onAbort, { once: true });
      this.timer = setTimeout(this.onAbort, Math.max(0, this.ctx.deadline - performance.now()));
      if (this.timedOut) controller.abort(this.timedOut);
    }
    return this.controller.signal;
  }

  private expire(): void {
    if (this.timedOut) return;
    const what = this.phase === 'connect' ? 'connect_timeout' : this.phase === 'resolve' ? 'dns_timeout' : 'timeout';
    this.timedOut = new ProbeFailure(what, `the deadline passed during the ${this.phase} phase`);
    this.controller?.abort(this.timedOut);
    this.destroyLayers(this.timedOut);
  }

  /**
   * Outermost layer first. Destroying the TCP socket while a TLS socket still wraps it makes Node
   * 20.20's TLSWrap read into a freed SSL object (SIGSEGV in ssl3_read_n, reproduced here).
   */
  private destroyLayers(err?: Error): void {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      // SO_LINGER 0: the probe host keeps no TIME_WAIT socket (a reset of a socket that is gone is an 'error', ignored).
      if (i === 0 && this.resetOnClose && !err && !layer.destroyed) layer.resetAndDestroy();
      else layer.destroy(err);
    }
  }

  /** Ends the current phase (adding its time, so a phase entered twice accumulates) and starts `next`. */
  enter(next: Phase): void {
    const now = performance.now();
    if (this.phase !== 'done') this.result.phases[this.phase] = (this.result.phases[this.phase] ?? 0) + (now - this.phaseStart) / 1000;
    this.phase = next;
    this.phaseStart = now;
  }

  /**
   * A connect with nothing said on it (no TLS, no dialogue). On the engine, which connects and
   * closes (RST with reset_on_close, FIN without) on its own thread, timed by its clock; else on a
   * Node socket closed the same way.
   */
  async connectOnly(address: string, port: number, family: 4 | 6, tcp: TCPModule): Promise<void> {
    if (!fastPathFor(this.ctx.runtime, this.ctx.flows)) {
      await this.connect(address, port, family, tcp.source_ip_address);
      this.resetOnClose = tcp.reset_on_close;
      this.enter('done');
      return;
    }
    this.enter('connect');
    const { seconds, failure } = await fastConnect(address, port, {
      sourceAddress: tcp.source_ip_address,
      resetOnClose: tcp.reset_on_close,
      deadline: this.ctx.deadline,
      stream: this.ctx.runtime.stream,
      flows: this.ctx.flows,
      owner: this.ctx,
    });
    this.result.phases.connect = (this.result.phases.connect ?? 0) + seconds;
    this.phase = 'done';
    if (failure) throw failure;
  }

  async connect(address: string, port: number, family: 4 | 6, localAddress: string | undefined): Promise<net.Socket> {
    const signal = this.signal; // arms the deadline before the socket exists
    this.enter('connect');
    const sock = net.connect({ host: address, port, family, localAddress });
    this.layers.push(sock);
    this.untrack = trackSocketFlow(sock, this.ctx.flows, address, port);
    // Errors are read through the promises below and the line reader; a stray late one must not crash the daemon.
    sock.on('error', () => undefined);
    if (signal.aborted) sock.destroy(this.timedOut);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    if (selfConnected(sock)) {
      sock.resetAndDestroy();
      throw selfConnectError(address, port);
    }
    sock.setNoDelay(true);
    return sock;
  }

  /** TLS over the established connection; records the handshake facts (the last handshake wins). */
  async startTLS(tcp: TCPModule, host: string, then: Phase): Promise<TLSSocket> {
    this.enter('tls');
    const opts = await tlsClientOptions(tcp.tls_config, host);
    // A second STARTTLS wraps the first TLS layer, as Go's tls.Client(conn) would.
    const { socket, done } = handshake(this.current(), opts);
    this.layers.push(socket);
    if (this.timedOut) socket.destroy(this.timedOut);
    await done;
    try {
      this.result.tls = tlsFactsFromSocket(socket);
    } catch (err) {
      throw new ProbeFailure('internal', `reading TLS facts: ${(err as Error).message}`);
    }
    this.enter(then);
    return socket;
  }

  current(): net.Socket {
    const s = this.layers[this.layers.length - 1];
    if (!s) throw new ProbeFailure('internal', 'no connection');
    return s;
  }

  close(): void {
    this.enter('done');
    if (this.timer) clearTimeout(this.timer);
    if (this.onAbort) this.ctx.signal.removeEventListener('abort', this.onAbort);
    this.controller?.abort();
    this.destroyLayers();
    this.untrack();
  }
}

function write(sock: net.Socket, data: string, encoding: 'utf8' | 'latin1'): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.write(data, encoding, (err) => (err ? reject(err) : resolve()));
  });
}

async function probe(target: string, tcp: TCPModule, run: TCPRun, result: ProbeResult, ctx: ProbeContext): Promise<void> {
  // ctx.aborted first: reading ctx.signal makes the signal (src/schedule/run_probe.ts).
  if (ctx.aborted ?? ctx.signal.aborted) throw new ProbeFailure('timeout', 'the probe was cancelled before it started');
  const { host, port } = splitHostPort(target);
  if (tcp.source_ip_address !== undefined && !net.isIP(tcp.source_ip_address)) {
    throw new ProbeFailure('config', `source_ip_address ${tcp.source_ip_address} is not an IP address`);
  }
  const lookupStart = performance.now();
  try {
    // The run's signal is read only for a name lookup: an address makes no timer.
    // An address or a hosts-file name is answered at once: no promise for the common case.
    const resolver = resolverFor(tcp.dns_resolver, ctx.runtime, ctx.gate);
    const resolved =
      resolveLocal(host, tcp.preferred_ip_protocol, tcp.ip_protocol_fallback, resolver) ??
      (await resolveTarget(host, tcp.preferred_ip_protocol, tcp.ip_protocol_fallback, run, resolver));
    result.resolver = resolved.server;
    result.address = resolved.addresses[0];
    result.ipProtocol = resolved.family;
  } finally {
    // blackbox sets probe_dns_lookup_time_seconds even when the lookup fails.
    result.dnsLookupSeconds = (performance.now() - lookupStart) / 1000;
  }
  if (tcp.query_response.length === 0 && !tcp.tls) return run.connectOnly(result.address, port, result.ipProtocol, tcp);
  let sock: net.Socket = await run.connect(result.address, port, result.ipProtocol, tcp.source_ip_address);
  if (tcp.query_response.length === 0) {
    await run.startTLS(tcp, host, 'tls');
    return;
  }
  if (tcp.tls) sock = await run.startTLS(tcp, host, 'dialogue');
  else run.enter('dialogue');
  let reader = new LineReader(sock);
  const io: DialogueIO = {
    readLine: () => reader.readLine(),
    readBytes: (n) => reader.readBytes(n),
    write: (data, encoding) => write(sock, data, encoding),
    startTLS: async () => {
      reader.detach();
      sock = await run.startTLS(tcp, host, 'dialogue');
      reader = new LineReader(sock);
    },
  };
  await runDialogue(tcp.query_response, io, (result.tcp ??= { failedDueToRegex: false }));
}

export const probeTCP: Prober = async (target: string, module: Module, ctx: ProbeContext) => {
  const start = performance.now();
  const result: ProbeResult = {
    target,
    module: module.name,
    prober: 'tcp',
    success: false,
    startedAt: Date.now(),
    durationSeconds: 0,
    phases: {},
    tcp: { failedDueToRegex: false },
  };
  const run = new TCPRun(ctx, result);
  try {
    await probe(target, module.tcp, run, result, ctx);
    result.success = true;
  } catch (err) {
    // After the deadline, the error the torn-down socket reports is a symptom; the timeout is the cause.
    failResult(result, run.timedOut ?? err);
  } finally {
    run.close();
    result.durationSeconds = (performance.now() - start) / 1000;
  }
  return result;
};
