// An undici connector that opens exactly one fresh connection to an already resolved address and
// timestamps it the way Go's httptrace does for blackbox: TCP connect, TLS handshake, first
// response byte. It also collects the TLS facts and the stapled OCSP response.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ConnectionOptions } from 'node:tls';
import type { buildConnector } from 'undici';
import type { TLSFacts } from '../../result';
import { parseOCSPResponse } from '../ocsp';
import { tlsFactsFromSocket } from '../tls_facts';
import type { ProbeFailure } from '../errors';
import { trackSocketFlow } from '../flows';
import { nodeTLS } from '../../util/heavy';
import { HeadFixer } from './head_fix';
import { tunnel } from './proxy';
import { selfConnectError, selfConnected } from '../self_connect';
import type { FlowRegistry } from '../types';

/** performance.now() marks in ms; 0 means "did not happen". */
export interface ConnMarks {
  connectStart: number;
  connected: number;
  tlsDone: number;
  firstByte: number;
}

export interface ConnState {
  marks: ConnMarks;
  stage: 'connecting' | 'tls' | 'ready';
  tls?: TLSFacts;
  /** "1.0" / "1.1", from the status line of the first response bytes; "2.0" when ALPN chose h2 */
  httpVersion?: string;
  localAddress?: string;
  localPort?: number;
  /**
   * The first error a socket of this connection reported. It is the cause: undici reads an RST
   * after a response that said Connection: close as the end of the body (client-h1.js) and then
   * reports a length mismatch, where the engine and Go see the reset.
   */
  socketError?: Error;
  /** the response head canonicaliser of an HTTP/1.x connection (head_fix.ts) */
  heads?: HeadFixer;
  /** every socket this connector made, for teardown on abort */
  sockets: net.Socket[];
  /** removes the probe's flow from the eBPF map (a no-op without eBPF) */
  untrack?: () => void;
}

/** tls.connect options; requestOCSP is accepted there (TLSSocket option) but missing from the type. */
export type ClientTLSOptions = ConnectionOptions & { requestOCSP?: boolean };

export interface ConnectTarget {
  address: string;
  port: number;
  /** TLS options when the hop is https, else undefined */
  tls?: ClientTLSOptions;
  flows?: FlowRegistry;
  /** address/port are a proxy's: this CONNECT request opens the tunnel before TLS (proxy.ts) */
  tunnel?: string;
}

/**
 * Wraps the socket's read so the first bytes read (undici reads on 'readable') are timed without
 * changing how undici uses the socket.
 */
function instrument(sock: net.Socket, state: ConnState, h2: boolean): void {
  const read = sock.read;
  const fixer = h2 ? undefined : (state.heads = new HeadFixer());
  const fail = (f: ProbeFailure) => {
    state.socketError ??= f;
    sock.destroy(f);
  };
  const version = (v: string) => {
    state.httpVersion = v;
  };
  sock.read = function (this: net.Socket, size?: number) {
    for (;;) {
      const chunk: unknown = read.call(this, size);
      if (chunk && state.marks.firstByte === 0) {
        state.marks.firstByte = performance.now();
        const head = Buffer.isBuffer(chunk) ? chunk.subarray(0, 9).toString('latin1') : String(chunk).slice(0, 9);
        const m = /^HTTP\/(\d\.\d) /.exec(head);
        if (m) state.httpVersion = m[1];
      }
      if (!fixer || !Buffer.isBuffer(chunk)) return chunk;
      // A head not complete yet is held: read on until the socket has nothing more to give, so
      // that undici's next 'readable' comes with the next bytes.
      const fixed = fixer.fix(chunk, fail, version);
      if (fixed !== null || this.destroyed) return fixed;
    }
  };
}

export function makeConnector(target: ConnectTarget, state: ConnState): buildConnector.connector {
  return (_opts, callback) => {
    let settled = false;
    const fail = (err: Error) => {
      state.socketError ??= err;
      if (settled) return;
      settled = true;
      callback(err, null);
    };
    const succeed = (sock: net.Socket, h2: boolean) => {
      if (settled) return;
      settled = true;
      state.stage = 'ready';
      instrument(sock, state, h2);
      callback(null, sock);
    };
    state.marks.connectStart = performance.now();
    state.stage = 'connecting';
    const tcp = net.connect({ host: target.address, port: target.port, noDelay: true });
    state.sockets.push(tcp);
    state.untrack = trackSocketFlow(tcp, target.flows, target.address, target.port);
    // Kept for the socket's life (fail is a no-op once settled): a second 'error' must not go unhandled.
    tcp.on('error', fail);
    tcp.once('connect', () => {
      state.marks.connected = performance.now();
      if (selfConnected(tcp)) {
        fail(selfConnectError(target.address, target.port));
        tcp.resetAndDestroy();
        return;
      }
      state.localAddress = tcp.localAddress;
      state.localPort = tcp.localPort;
      if (!target.tls) {
        succeed(tcp, false);
        return;
      }
      if (target.tunnel) tunnel(tcp, target.tunnel).then(() => startTLS(tcp), fail);
      else startTLS(tcp);
    });
    const startTLS = (tcp: net.Socket) => {
      state.stage = 'tls';
      const sec = nodeTLS().connect({ ...target.tls, socket: tcp });
      state.sockets.push(sec);
      let ocsp: Buffer | null | undefined;
      // Emitted before 'secureConnect' when requestOCSP is set; with no staple the buffer is empty.
      sec.once('OCSPResponse', (resp: Buffer | null | undefined) => {
        ocsp = resp;
      });
      sec.on('error', fail);
      sec.once('secureConnect', () => {
        state.marks.tlsDone = performance.now();
        state.tls = tlsFactsFromSocket(sec);
        // undici speaks HTTP/2 on a socket whose ALPN chose h2; its frames bypass instrument().
        if (sec.alpnProtocol === 'h2') state.httpVersion = '2.0';
        if (target.tls?.requestOCSP) state.tls.ocsp = ocspFacts(ocsp, state.tls);
        succeed(sec, sec.alpnProtocol === 'h2');
      });
    };
  };
}

function ocspFacts(raw: Buffer | null | undefined, facts: TLSFacts): TLSFacts['ocsp'] {
  const leaf = facts.chain[0];
  if (!raw || raw.length === 0 || !leaf) return { status: 'absent' };
  try {
    return parseOCSPResponse(raw, leaf.serialNumber);
  } catch {
    // A staple that cannot be read protects nothing; report it like no staple.
    return { status: 'absent' };
  }
}
