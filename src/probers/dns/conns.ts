// DNS streams kept between probes of one server, for modules with reuse_connections: TCP (RFC 7766
// section 6.2.1) and DoT (RFC 7858 section 3.4) clients should reuse connections, and stub
// resolvers do (systemd-resolved, Android's Private DNS), so such a probe measures what their
// users see: the query's time on an open connection, the handshake only when one had to be made.
// One query at a time on a connection, so every answer belongs to the probe holding it; a
// connection whose exchange did not end in its answer is closed (queryStream), never kept.
import { performance } from 'node:perf_hooks';
import type { Runtime } from '../../runtime';
import { ProbeFailure } from '../errors';
import type { Answer } from './exchange';
import { openStream, queryStream, type DnsStream, type StreamQuery } from './stream';

// Idle connections close after this (unbound's tcp-idle-timeout is 30 s; servers may close sooner,
// and a probe that finds its kept connection closed asks again on a new one).
const IDLE_MS = 10_000;
const MAX_IDLE_PER_KEY = 256;

interface Idle {
  conn: DnsStream;
  since: number;
}

export class DnsStreams {
  private readonly idle = new Map<string, Idle[]>();
  private sweeper: NodeJS.Timeout | undefined;

  take(key: string): DnsStream | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const { conn } = list.pop()!;
      if (conn.ended) continue;
      conn.hold(true);
      return conn;
    }
    return undefined;
  }

  give(key: string, conn: DnsStream): void {
    if (conn.ended) return;
    let list = this.idle.get(key);
    if (!list) this.idle.set(key, (list = []));
    if (list.length >= MAX_IDLE_PER_KEY) return conn.destroy();
    conn.hold(false);
    list.push({ conn, since: performance.now() });
    this.sweeper ??= setInterval(() => this.sweep(), IDLE_MS / 2).unref();
  }

  private sweep(): void {
    const old = performance.now() - IDLE_MS;
    for (const [key, list] of this.idle) {
      const keep = list.filter((i) => {
        if (i.since >= old && !i.conn.ended) return true;
        i.conn.destroy();
        return false;
      });
      if (keep.length > 0) this.idle.set(key, keep);
      else this.idle.delete(key);
    }
    if (this.idle.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Closes every idle connection (the runtime's close). */
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
  for (;;) {
    let conn = streams.take(key);
    const reused = conn !== undefined;
    let connect = 0;
    if (conn) conn.track(q.flows, q.ep.address, q.ep.port);
    else ({ conn, connect } = await openStream(q.ep, q.signal, q.flows, q.tlsOpts, q.session));
    try {
      const { msg, request } = await queryStream(conn, q.query, q.match, q.signal);
      conn.release();
      streams.give(key, conn);
      return { msg, connect, request, tls: conn.tls, tlsResumed: conn.resumed, reused };
    } catch (err) {
      // The connection's end (FIN, reset, a write on a closed socket), not what the server answered.
      const gone = !(err instanceof ProbeFailure) || err.reason === 'network_error';
      if (reused && gone && !q.signal.aborted) continue;
      throw err;
    }
  }
}
