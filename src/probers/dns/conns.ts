// DNS streams kept between probes of one server, for modules with reuse_connections: TCP (RFC 7766
// section 6.2.1) and DoT (RFC 7858 section 3.4) clients should reuse connections, and stub
// resolvers do (systemd-resolved, Android's Private DNS), so such a probe measures what their
// users see: the query's time on an open connection, the handshake only when one had to be made.
// One query at a time on a connection, so every answer belongs to the probe holding it; a
// connection whose exchange did not end in its answer is closed (queryStream), never kept. At most
// MAX_PER_SERVER connections to a server are open: a server gives each client few TCP slots
// (unbound: incoming-num-tcp, 10 per thread), and a probe that finds them all busy waits for one,
// which its connect phase then counts (the time until a socket could carry the query).
import { performance } from 'node:perf_hooks';
import type { Runtime } from '../../runtime';
import { ProbeFailure } from '../errors';
import type { Answer } from './exchange';
import { openStream, queryStream, type DnsStream, type StreamQuery } from './stream';

// Idle connections close after this (unbound's tcp-idle-timeout is 30 s; servers may close sooner,
// and a probe that finds its kept connection closed asks again on a new one).
const IDLE_MS = 10_000;
export const MAX_PER_SERVER = 8;

interface Idle {
  conn: DnsStream;
  since: number;
}

/** One server's connections: those idle, how many are open (idle or in use), the probes waiting for one. */
interface Server {
  idle: Idle[];
  open: number;
  waiters: Array<(conn: DnsStream | undefined) => void>;
}

export class DnsStreams {
  private readonly servers = new Map<string, Server>();
  private sweeper: NodeJS.Timeout | undefined;

  private server(key: string): Server {
    let s = this.servers.get(key);
    if (!s) this.servers.set(key, (s = { idle: [], open: 0, waiters: [] }));
    return s;
  }

  /**
   * An idle connection to hold; 'open' when the caller may open one (counted open now: report it
   * with give() or closed()); 'busy' when MAX_PER_SERVER are in use (then wait()).
   */
  take(key: string): DnsStream | 'open' | 'busy' {
    const s = this.server(key);
    while (s.idle.length > 0) {
      const { conn } = s.idle.pop()!;
      if (conn.ended) {
        s.open--;
        continue;
      }
      conn.hold(true);
      return conn;
    }
    if (s.open < MAX_PER_SERVER) {
      s.open++;
      return 'open';
    }
    return 'busy';
  }

  /** The next connection given back (undefined: a place to open one), until `signal` aborts. */
  wait(key: string, signal: AbortSignal, what: string): Promise<DnsStream | undefined> {
    const s = this.server(key);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        s.waiters.splice(s.waiters.indexOf(waiter), 1);
        reject(new ProbeFailure('dns_timeout', `all ${MAX_PER_SERVER} kept connections ${what} stayed busy until the deadline`));
      };
      const waiter = (conn: DnsStream | undefined) => {
        signal.removeEventListener('abort', onAbort);
        resolve(conn);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      s.waiters.push(waiter);
    });
  }

  /** A connection back after a clean exchange: to the first waiting probe, else idle. */
  give(key: string, conn: DnsStream): void {
    const s = this.server(key);
    if (conn.ended) return this.closed(key);
    const waiter = s.waiters.shift();
    if (waiter) return waiter(conn);
    conn.hold(false);
    s.idle.push({ conn, since: performance.now() });
    this.sweeper ??= setInterval(() => this.sweep(), IDLE_MS / 2).unref();
  }

  /** A connection that ended (or never opened): its place goes to the first waiting probe, which opens one. */
  closed(key: string): void {
    const s = this.server(key);
    const waiter = s.waiters.shift();
    if (waiter) waiter(undefined);
    else s.open--;
  }

  private sweep(): void {
    const old = performance.now() - IDLE_MS;
    for (const [key, s] of this.servers) {
      s.idle = s.idle.filter((i) => {
        if (i.since >= old && !i.conn.ended) return true;
        i.conn.destroy();
        s.open--;
        return false;
      });
      if (s.open === 0 && s.waiters.length === 0) this.servers.delete(key);
    }
    if (this.servers.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}

const BY_RUNTIME = new WeakMap<Runtime, DnsStreams>();

export function dnsStreamsOf(runtime: Runtime): DnsStreams {
  let s = BY_RUNTIME.get(runtime);
  if (!s) BY_RUNTIME.set(runtime, (s = new DnsStreams()));
  return s;
}

/**
 * A query on a kept connection to the server under `key`, or on a new one (then kept). A kept
 * connection the server closed meanwhile fails at once: the query is asked again on a new one.
 */
export async function keptExchange(streams: DnsStreams, key: string, q: StreamQuery): Promise<Answer & { reused: boolean }> {
  const what = `to ${q.ep.address}:${q.ep.port}`;
  for (;;) {
    const start = performance.now();
    const got = streams.take(key);
    // Waiting for a busy server's connection is time until a socket could carry the query: connect.
    let conn = got === 'busy' ? await streams.wait(key, q.signal, what) : got === 'open' ? undefined : got;
    const waited = got === 'busy';
    const reused = conn !== undefined;
    if (conn) conn.track(q.flows, q.ep.address, q.ep.port);
    else {
      try {
        ({ conn } = await openStream(q.ep, q.signal, q.flows, q.tlsOpts, q.session));
      } catch (err) {
        streams.closed(key);
        throw err;
      }
    }
    const connect = reused && !waited ? 0 : (performance.now() - start) / 1000;
    try {
      const { msg, request } = await queryStream(conn, q.query, q.match, q.signal);
      conn.release();
      streams.give(key, conn);
      return { msg, connect, request, tls: conn.tls, tlsResumed: conn.resumed, reused };
    } catch (err) {
      // queryStream closed the connection. Its end (FIN, reset, a write on a closed socket), not
      // what the server answered, is asked again on another.
      streams.closed(key);
      const gone = !(err instanceof ProbeFailure) || err.reason === 'network_error';
      if (reused && gone && !q.signal.aborted) continue;
      throw err;
    }
  }
}
