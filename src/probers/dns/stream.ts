// DNS over a stream (TCP, or TLS from the first byte for DoT, RFC 7858): the connection, its
// handshake, and one query at a time on it. A query on a connection of its own (streamExchange,
// as blackbox asks) or on one kept between probes of the same server (reuse_connections, RFC 7766
// section 6.2.1 and RFC 7858 section 3.4: clients should reuse connections; conns.ts).
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type * as tls from 'node:tls';
import { ProbeFailure } from '../errors';
import { trackSocketFlow } from '../flows';
import { handshake } from '../tcp/tls';
import { tlsFactsFromSocket } from '../tls_facts';
import type { TLSFacts } from '../../result';
import type { FlowRegistry } from '../types';
import { abortReason, type Answer, type Endpoint, type Match } from './exchange';
import { FrameReader, frame } from './frames';
import type { Message } from './wire';

/** DoT with resumption: the session to offer, and where the server's next ticket goes. */
export interface SessionStore {
  offer?: Buffer;
  keep(ticket: Buffer): void;
}

/** What the probe holding a connection hears from it. */
interface StreamUser {
  message(m: Buffer): void;
  end(err: Error): void;
}

/** An open DNS stream: its layers (TCP, TLS), its reader, and the one probe that may use it now. */
export class DnsStream {
  readonly reader = new FrameReader();
  user: StreamUser | undefined;
  /** the server closed it, or it failed: never used again */
  ended = false;
  tls?: TLSFacts;
  resumed?: boolean;
  /** flow registration of the probe holding it (its own, while it holds it) */
  untrack: () => unknown = () => undefined;

  constructor(
    private readonly layers: net.Socket[],
    readonly top: net.Socket,
    readonly what: string,
  ) {
    top.on('data', (chunk: Buffer) => {
      for (const m of this.reader.push(chunk)) {
        // A message nobody asked for (on an idle kept connection): the stream is no longer clean.
        if (this.user) this.user.message(m);
        else this.destroy();
      }
    });
    top.once('end', () => this.close(this.closedReason()));
    top.once('close', () => this.close(new ProbeFailure('network_error', `the connection closed ${what}`)));
    for (const l of layers) l.on('error', (err: Error) => this.close(err));
  }

  private closedReason(): Error {
    const announced = this.reader.announced;
    if (announced !== undefined) return new ProbeFailure('dns_malformed', `the connection closed ${this.reader.pending - 2} bytes into a ${announced}-byte message ${this.what}`);
    return new ProbeFailure('network_error', `the server closed the connection without an answer ${this.what}`);
  }

  private close(err: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.user?.end(err);
    this.destroy();
  }

  /** Registers the connection's 5-tuple for the probe that takes a kept connection, until release(). */
  track(flows: FlowRegistry | undefined, remote: string, remotePort: number): void {
    const raw = this.layers[0];
    if (!flows || !raw.localAddress || !raw.localPort) return;
    const id = flows.addSocketFlow({ protocol: 'tcp', local: raw.localAddress, localPort: raw.localPort, remote, remotePort });
    this.untrack = () => id > 0 && flows.remove(id);
  }

  /** Idle in a pool, a connection does not keep the process alive (a CLI exits); in use, it does. */
  hold(inUse: boolean): void {
    for (const l of this.layers) {
      if (inUse) l.ref();
      else l.unref();
    }
  }

  /** Ends the holding probe's flow registration (the connection may stay open for the next one). */
  release(): void {
    this.untrack();
    this.untrack = () => undefined;
  }

  /** Outermost layer first: destroying TCP under a live TLS socket can crash Node 20 (PEERS.md). */
  destroy(): void {
    this.ended = true;
    for (let i = this.layers.length - 1; i >= 0; i--) this.layers[i].destroy();
    this.release();
  }
}

/** Connects (and shakes hands, with `tlsOpts`) until `signal` aborts; `connect` is the seconds it took. */
export function openStream(
  ep: Endpoint,
  signal: AbortSignal,
  flows: FlowRegistry | undefined,
  tlsOpts?: tls.ConnectionOptions,
  session?: SessionStore,
): Promise<{ conn: DnsStream; connect: number }> {
  const start = performance.now();
  const what = `from ${ep.address}:${ep.port} over ${tlsOpts ? 'TLS' : 'TCP'}`;
  const layers: net.Socket[] = [];
  const raw = net.connect({ host: ep.address, port: ep.port, family: ep.family, localAddress: ep.source });
  layers.push(raw);
  const untrack = trackSocketFlow(raw, flows, ep.address, ep.port);
  raw.on('error', () => undefined);
  const fail = (err: Error) => {
    for (let i = layers.length - 1; i >= 0; i--) layers[i].destroy();
    untrack();
    return err;
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err: Error | undefined, conn?: DnsStream) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err) return reject(fail(err));
      conn!.untrack = untrack;
      resolve({ conn: conn!, connect: (performance.now() - start) / 1000 });
    };
    const onAbort = () => settle(abortReason(signal, 0, what));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    raw.once('error', (err) => settle(err));
    raw.once('connect', () => {
      raw.setNoDelay(true);
      if (!tlsOpts) return settle(undefined, new DnsStream(layers, raw, what));
      const { socket, done: handshaken } = handshake(raw, session?.offer ? { ...tlsOpts, session: session.offer } : tlsOpts);
      layers.push(socket);
      if (session) socket.on('session', (ticket: Buffer) => session.keep(ticket));
      handshaken.then(
        () => {
          const conn = new DnsStream(layers, socket, what);
          conn.resumed = session ? socket.isSessionReused() : undefined;
          try {
            if (!conn.resumed) conn.tls = tlsFactsFromSocket(socket);
          } catch (err) {
            return settle(err as Error);
          }
          settle(undefined, conn);
        },
        (err: Error) => settle(err),
      );
    });
  });
}

/** One query on `conn`, which this probe holds; resolves with the answer and the seconds from write to answer. */
export function queryStream(conn: DnsStream, query: Buffer, match: Match, signal: AbortSignal): Promise<{ msg: Message; request: number }> {
  let mismatches = 0;
  return new Promise((resolve, reject) => {
    const done = (err: Error | undefined, msg?: Message) => {
      if (!conn.user) return;
      conn.user = undefined;
      signal.removeEventListener('abort', onAbort);
      if (err) {
        conn.destroy(); // an exchange that did not end in its answer leaves the stream unclean
        return reject(err);
      }
      resolve({ msg: msg!, request: (performance.now() - sent) / 1000 });
    };
    const onAbort = () => done(abortReason(signal, mismatches, conn.what));
    conn.user = {
      message: (m) => {
        let msg: Message | undefined;
        try {
          msg = match(m);
        } catch (err) {
          return done(err as Error);
        }
        if (!msg) mismatches++;
        else done(undefined, msg);
      },
      end: (err) => {
        if (mismatches > 0 && err instanceof ProbeFailure && err.reason === 'network_error') {
          return done(new ProbeFailure('dns_id_mismatch', `${mismatches} answer(s) ${conn.what} did not match the query, then the server closed the connection`));
        }
        done(err);
      },
    };
    if (signal.aborted) return onAbort();
    if (conn.ended) return done(new ProbeFailure('network_error', `the connection closed ${conn.what}`));
    signal.addEventListener('abort', onAbort, { once: true });
    const sent = performance.now();
    conn.top.write(frame(query));
  });
}

/** One query over TCP, or DoT when `tlsOpts` is given. */
export interface StreamQuery {
  ep: Endpoint;
  query: Buffer;
  match: Match;
  signal: AbortSignal;
  flows: FlowRegistry | undefined;
  tlsOpts?: tls.ConnectionOptions;
  session?: SessionStore;
}

/** The query on a connection of its own. */
export async function streamExchange(q: StreamQuery): Promise<Answer> {
  const { conn, connect } = await openStream(q.ep, q.signal, q.flows, q.tlsOpts, q.session);
  try {
    const { msg, request } = await queryStream(conn, q.query, q.match, q.signal);
    return { msg, connect, request, tls: conn.tls, tlsResumed: conn.resumed };
  } finally {
    conn.destroy();
  }
}
