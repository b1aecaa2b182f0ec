// The native /probe gateway (native/gateway/gateway.cc): the stream engines' threads own sonde's
// listener (one socket, accepted on by every engine), take each /probe request and hand it here in
// their result batches; every other connection goes to Node's HTTP server, request unread. What a
// /probe request gets is decided by the same TypeScript as when Node's server takes it
// (src/api/probe_handler.ts): this file only wires the front door to it.
import type http from 'node:http';
import net from 'node:net';
import { availableParallelism, constants as osConstants } from 'node:os';
import { fastPathEnabled } from '../probers/fast';
import type { GatewayAsk, GatewayEngine, GatewayHandlers, GatewayLimits, StreamPool } from '../native/stream';
import { RequestCancel } from './admission';
import { probeParamsOfQuery, type Asker, type ProbeAnswer, type ProbeParams } from './probe_handler';

export interface GatewayDeps {
  server: http.Server;
  /** the runtime's stream engines: the gateway's listener is served by their threads */
  stream: StreamPool;
  /** serves one /probe request (src/api/probe_handler.ts serveProbe) */
  serve(params: ProbeParams, scrapeTimeout: string, asker: Asker): Promise<ProbeAnswer>;
  /** bounds of the listener's connections */
  limits: GatewayLimits;
  onError(err: unknown, what: string): void;
}

/**
 * Whether sonde's listener goes through the gateway: the fast path is on, SONDE_GATEWAY=0 does not
 * turn the gateway off (to compare, or to rule it out), and the host is an address.
 */
export function gatewayWanted(host: string): boolean {
  return fastPathEnabled() && process.env.SONDE_GATEWAY !== '0' && net.isIP(host) !== 0;
}

/** Engine threads accepting on the listener: SONDE_GATEWAY_THREADS, else one per core up to 2. */
function gatewayThreads(): number {
  const env = Number(process.env.SONDE_GATEWAY_THREADS);
  if (Number.isInteger(env) && env >= 1 && env <= 64) return env;
  return Math.min(2, availableParallelism());
}

let active: GatewayEngine[] = [];
/** connections handed to Node's server and still open, and those refused over the bound */
let handed = 0;
let handedRefused = 0;

/** The error Node's listen gives, in the words operators search for. */
function listenError(err: unknown, host: string, port: number): Error {
  const errno = (err as { errno?: number }).errno;
  const code = Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? 'listen error';
  return Object.assign(new Error(`listen ${code}: ${(err as Error).message.replace(/^listen: /, '').toLowerCase()} ${host.includes(':') ? `[${host}]` : host}:${port}`), { code });
}

/** Starts the gateway's listener; returns the bound port. Throws as listen(2) fails (EADDRINUSE...). */
export function startGateway(host: string, port: number, deps: GatewayDeps): number {
  const engines = deps.stream.gatewayEngines(gatewayThreads());
  let bound: number;
  try {
    bound = engines[0].listen(host, port, handlers(engines[0], deps), deps.limits);
    for (const gw of engines.slice(1)) gw.shareListener(engines[0], handlers(gw, deps));
  } catch (err) {
    throw listenError(err, host, port);
  }
  active = engines;
  return bound;
}


// A connection's index is below 2^16 (kMaxConns in native/stream/engine_impl.h) and its generation
// below 2^32: one exact number.
function askKey(conn: number, gen: number): number {
  return gen * 65536 + conn;
}

/**
 * The asks in hand of one engine, to cancel when a client leaves: by connection index, with its
 * generation. A batch may bring the ask of a new connection in a slot whose last client just left
 * (its gone notice comes after the asks): the older ask moves aside to a Map, rarely used. A Map of
 * every ask grew and shrank its table with every batch, allocating at each.
 */
class AskTable {
  private readonly gens: number[] = [];
  private readonly cancels: (RequestCancel | undefined)[] = [];
  private readonly aside = new Map<number, RequestCancel>();

  set(conn: number, gen: number, cancel: RequestCancel): void {
    while (this.cancels.length <= conn) {
      this.cancels.push(undefined);
      this.gens.push(0);
    }
    const held = this.cancels[conn];
    if (held !== undefined) this.aside.set(askKey(conn, this.gens[conn]), held);
    this.cancels[conn] = cancel;
    this.gens[conn] = gen;
  }

  /** The ask's cancel, no longer held; undefined when it is not in hand. */
  take(conn: number, gen: number): RequestCancel | undefined {
    const c = this.cancels[conn];
    if (c !== undefined && this.gens[conn] === gen) {
      this.cancels[conn] = undefined;
      return c;
    }
    if (this.aside.size === 0) return undefined;
    const key = askKey(conn, gen);
    const a = this.aside.get(key);
    this.aside.delete(key);
    return a;
  }
}

function handlers(gw: GatewayEngine, deps: GatewayDeps): GatewayHandlers {
  const asking = new AskTable();
  const fail = (a: GatewayAsk, err: unknown) => {
    deps.onError(err, 'serving a /probe request of the gateway');
    gw.answer(a, 500, 'text/plain; charset=utf-8', 'internal error\n');
  };
  return {
    handoff(fd) {
      try {
        const sock = new net.Socket({ fd, readable: true, writable: true });
        // Node's maxConnections counts only what its own listener accepts: connections handed
        // over are bounded here, by the same number.
        if (handed >= deps.limits.maxConnections) {
          handedRefused++;
          sock.resetAndDestroy();
          return;
        }
        handed++;
        sock.once('close', () => handed--);
        deps.server.emit('connection', sock);
      } catch (err) {
        deps.onError(err, 'adopting a connection from the gateway');
      }
    },
    ask(a) {
      // The native parser decoded module and target when the query held nothing else: no
      // URLSearchParams per request then.
      const params: ProbeParams = a.query === undefined ? { module: a.module, target: a.target, debug: false, hostname: null } : probeParamsOfQuery(a.query);
      const cancel = new RequestCancel();
      asking.set(a.conn, a.gen, cancel);
      let answer: Promise<ProbeAnswer>;
      try {
        answer = deps.serve(params, a.scrapeTimeout, { client: a.peer, cancel });
      } catch (err) {
        asking.take(a.conn, a.gen);
        return fail(a, err);
      }
      answer.then(
        (r) => {
          asking.take(a.conn, a.gen);
          // A cancelled ask's connection is closed: the engine drops an answer to it anyway.
          if (!cancel.aborted) gw.answer(a, r.status, r.contentType, r.series ?? r.body);
        },
        (err) => {
          asking.take(a.conn, a.gen);
          fail(a, err);
        },
      );
    },
    gone(conn, gen) {
      asking.take(conn, gen)?.abort();
    },
  };
}

export interface GatewayCounts {
  /** /probe requests the gateway took */
  gateway: number;
  /** connections handed to Node */
  node: number;
  /** requests whose client had left when the gateway read them (not asked, so never admitted) */
  gone: number;
  /** connections closed at accept, over a bound (shared by the engines: counted once) */
  refused: number;
  /** connections closed because their request head did not arrive in time */
  headTimeouts: number;
}

/** The gateway's counts over all its engines. */
export function gatewayCounts(): GatewayCounts {
  const sum = { gateway: 0, node: 0, gone: 0, refused: 0, headTimeouts: 0 };
  for (const gw of active) {
    const c = gw.counters();
    sum.gateway += c.gatewayAsked ?? 0;
    sum.node += c.gatewayHandoffs ?? 0;
    sum.gone += c.gatewayGone ?? 0;
    sum.headTimeouts += c.gatewayHeadTimeouts ?? 0;
    sum.refused = Math.max(sum.refused, c.gatewayRefused ?? 0);
  }
  sum.refused += handedRefused;
  return sum;
}
