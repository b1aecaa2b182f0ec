// The TCP prober, as blackbox_exporter's prober/tcp.go + query_response.go: resolve HOST:PORT,
// connect (from source_ip_address when set), optionally TLS from the first byte, then the
// query_response dialogue with STARTTLS upgrades. Phases: resolve, connect, tls, dialogue.
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { Module, TCPModule } from '../config/types';
import type { ProbeResult } from '../result';
import { classifyError, ProbeFailure } from './errors';
import { fastConnect, fastPathFor } from './fast';
import { trackSocketFlow } from './flows';
import { resolveTarget } from './resolve';
import { runDialogue, type DialogueIO } from './tcp_dialogue';
import { LineReader } from './tcp_lines';
import { handshake, tlsClientOptions } from './tcp_tls';
import { tlsFactsFromSocket } from './tls_facts';
import type { ProbeContext, Prober } from './types';

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

type Phase = 'resolve' | 'connect' | 'tls' | 'dialogue';

/** One probe's sockets, phase clock and deadline. close() releases everything. */
class TCPRun {
  /** the TCP socket, then each TLS layer over it; the last one is where the dialogue reads and writes */
  private readonly layers: net.Socket[] = [];
  private phase: Phase = 'resolve';
  private phaseStart = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private untrack: () => void = () => undefined;
  /** set when the deadline passed; it wins over whatever error the torn-down socket reports */
  timedOut: ProbeFailure | undefined;
  readonly abort = new AbortController();

  constructor(
    private readonly ctx: ProbeContext,
    private readonly result: ProbeResult,
  ) {
    const onAbort = () => this.expire();
    if (ctx.signal.aborted) {
      this.timedOut = new ProbeFailure('timeout', 'the probe was cancelled before it started');
      this.abort.abort(this.timedOut);
      return;
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    this.abort.signal.addEventListener('abort', () => ctx.signal.removeEventListener('abort', onAbort), { once: true });
    this.timer = setTimeout(onAbort, Math.max(0, ctx.deadline - performance.now()));
  }

  private expire(): void {
    if (this.timedOut) return;
    const what = this.phase === 'connect' ? 'connect_timeout' : this.phase === 'resolve' ? 'dns_timeout' : 'timeout';
    this.timedOut = new ProbeFailure(what, `the deadline passed during the ${this.phase} phase`);
    this.abort.abort(this.timedOut);
    this.destroyLayers(this.timedOut);
  }

  /**
   * Outermost layer first. Destroying the TCP socket while a TLS socket still wraps it makes Node
   * 20.20's TLSWrap read into a freed SSL object (SIGSEGV in ssl3_read_n, reproduced here).
   */
  private destroyLayers(err?: Error): void {
    for (let i = this.layers.length - 1; i >= 0; i--) this.layers[i].destroy(err);
  }

  /** Ends the current phase (adding its time, so a phase entered twice accumulates) and starts `next`. */
  enter(next: Phase): void {
    const now = performance.now();
    this.result.phases[this.phase] = (this.result.phases[this.phase] ?? 0) + (now - this.phaseStart) / 1000;
    this.phase = next;
    this.phaseStart = now;
  }

  async connect(address: string, port: number, family: 4 | 6, localAddress: string | undefined): Promise<net.Socket> {
    this.enter('connect');
    const sock = net.connect({ host: address, port, family, localAddress });
    this.layers.push(sock);
    this.untrack = trackSocketFlow(sock, this.ctx.flows, address, port);
    // Errors are read through the promises below and the line reader; a stray late one must not crash the daemon.
    sock.on('error', () => undefined);
    if (this.timedOut) sock.destroy(this.timedOut);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
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
    this.enter(this.phase);
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    this.destroyLayers();
    this.untrack();
  }
}

function write(sock: net.Socket, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.write(data, 'utf8', (err) => (err ? reject(err) : resolve()));
  });
}

async function probe(target: string, tcp: TCPModule, run: TCPRun, result: ProbeResult): Promise<void> {
  if (run.timedOut) throw run.timedOut;
  const { host, port } = splitHostPort(target);
  if (tcp.source_ip_address !== undefined && !net.isIP(tcp.source_ip_address)) {
    throw new ProbeFailure('config', `source_ip_address ${tcp.source_ip_address} is not an IP address`);
  }
  const lookupStart = performance.now();
  try {
    const resolved = await resolveTarget(host, tcp.preferred_ip_protocol, tcp.ip_protocol_fallback, run.abort);
    result.address = resolved.addresses[0];
    result.ipProtocol = resolved.family;
  } finally {
    // blackbox sets probe_dns_lookup_time_seconds even when the lookup fails.
    result.dnsLookupSeconds = (performance.now() - lookupStart) / 1000;
  }
  let sock: net.Socket = await run.connect(result.address, port, result.ipProtocol, tcp.source_ip_address);
  if (tcp.query_response.length === 0) {
    if (tcp.tls) await run.startTLS(tcp, host, 'tls');
    return;
  }
  if (tcp.tls) sock = await run.startTLS(tcp, host, 'dialogue');
  else run.enter('dialogue');
  let reader = new LineReader(sock);
  const io: DialogueIO = {
    readLine: () => reader.readLine(),
    write: (data) => write(sock, data),
    startTLS: async () => {
      reader.detach();
      sock = await run.startTLS(tcp, host, 'dialogue');
      reader = new LineReader(sock);
    },
  };
  await runDialogue(tcp.query_response, io, (result.tcp ??= { failedDueToRegex: false }));
}

/** tcp_connect without TLS or dialogue: on the native stream engine (src/probers/fast.ts). */
async function probeConnectOnly(target: string, module: Module, ctx: ProbeContext, result: ProbeResult, start: number): Promise<ProbeResult> {
  const tcp = module.tcp;
  try {
    if (ctx.aborted ?? ctx.signal.aborted) throw new ProbeFailure('timeout', 'the probe was cancelled before it started');
    const { host, port } = splitHostPort(target);
    if (tcp.source_ip_address !== undefined && !net.isIP(tcp.source_ip_address)) {
      throw new ProbeFailure('config', `source_ip_address ${tcp.source_ip_address} is not an IP address`);
    }
    const lookupStart = performance.now();
    try {
      const resolved = await resolveTarget(host, tcp.preferred_ip_protocol, tcp.ip_protocol_fallback, ctx);
      result.address = resolved.addresses[0];
      result.ipProtocol = resolved.family;
    } finally {
      result.dnsLookupSeconds = result.phases.resolve = (performance.now() - lookupStart) / 1000;
    }
    const { seconds, failure } = await fastConnect(result.address, port, {
      sourceAddress: tcp.source_ip_address,
      resetOnClose: tcp.reset_on_close,
      deadline: ctx.deadline,
      stream: ctx.runtime.stream,
      flows: ctx.flows,
    });
    result.phases.connect = seconds;
    if (failure) throw failure;
    result.success = true;
  } catch (err) {
    const { reason, message } = classifyError(err);
    result.reason = reason;
    result.message = message;
  }
  result.durationSeconds = (performance.now() - start) / 1000;
  return result;
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
  if (fastPathFor(ctx.flows) && !module.tcp.tls && module.tcp.query_response.length === 0) return probeConnectOnly(target, module, ctx, result, start);
  const run = new TCPRun(ctx, result);
  try {
    await probe(target, module.tcp, run, result);
    result.success = true;
  } catch (err) {
    // After the deadline, the error the torn-down socket reports is a symptom; the timeout is the cause.
    const { reason, message } = classifyError(run.timedOut ?? err);
    result.reason = reason;
    result.message = message;
  } finally {
    run.close();
    result.durationSeconds = (performance.now() - start) / 1000;
  }
  return result;
};
