// sonde's listeners: Node's HTTP(S) servers, one per --web.listen-address or systemd socket, all
// answering the same routes (src/api/routes.ts); a web config (src/web) puts TLS and basic auth in
// front of every one. The native /probe gateway (src/api/gateway.ts) takes the listener only where
// nothing stands in front: it cannot do TLS or authentication, so it steps aside under a web config.
import http from 'node:http';
import type https from 'node:https';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { WebConfigSource } from '../web/source';
import { WebGuard } from '../web/guard';
import { gatewayWanted, startGateway } from './gateway';
import { serveProbe, type Asker, type ProbeParams } from './probe_handler';
import { listenOn, type ListenAddress, type ListenOn } from './listen';
import { route, send, type ApiDeps } from './routes';
import { nodeHTTPS } from '../util/heavy';

export { parseListenAddress, type ListenAddress } from './listen';
export type { ApiDeps } from './routes';

/**
 * Bounds of the Node listener (the gateway's native listener has its own). A client must send its
 * request head within headersTimeout and its whole request within requestTimeout (Node answers 408
 * and closes; it checks every connectionsCheckingInterval), so a slowloris or a silent connection
 * holds a descriptor for seconds, not for the 65 s of keep-alive; at most maxConnections at once.
 * The head timeout and the connection bound are the listener's (deps.listenerLimits, the same for
 * the native gateway) unless `overrides` says otherwise.
 */
export const LISTENER_BOUNDS = { headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, checkIntervalMs: 1_000, maxConnections: 4096 };

/** Connections Node's server closed at once: over the per-client bound (boundPerClient). */
export const nodeListenerCounts = { refused: 0 };

/**
 * At most `max` connections from one client address, whether Node accepted them or the gateway
 * handed them over: one client holding idle connections cannot lock the others out.
 */
function boundPerClient(server: http.Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (sock: Socket) => {
    const client = sock.remoteAddress ?? '';
    const n = (open.get(client) ?? 0) + 1;
    if (n > max) {
      nodeListenerCounts.refused++;
      sock.resetAndDestroy();
      return;
    }
    open.set(client, n);
    sock.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left <= 0) open.delete(client);
      else open.set(client, left);
    });
  });
}

export interface Listeners {
  servers: http.Server[];
  /** the bound addresses, in the order asked */
  addresses: AddressInfo[];
  /** whether the native gateway took the (one) listener */
  gateway: boolean;
}

/** One server's TLS: the web config's context in force for each new connection, its client rules after the handshake. */
function wireTLS(server: https.Server, web: WebConfigSource, deps: ApiDeps): void {
  let inForce: unknown;
  // Before tls.Server's own listener, which makes the TLSSocket from the context set now.
  server.prependListener('connection', (sock: Socket) => {
    const state = web.current();
    if (state instanceof Error || state.tls === null) return void sock.destroy();
    if (state.tls !== inForce) {
      inForce = state.tls;
      server.setSecureContext(state.tls.options);
      // setSecureContext renews the keys and CAs only: the client-certificate policy is the server's.
      Object.assign(server, { requestCert: state.tls.options.requestCert, rejectUnauthorized: state.tls.options.rejectUnauthorized });
    }
  });
  server.on('secureConnection', (sock: TLSSocket) => {
    const state = web.current();
    const refusal = state instanceof Error ? state.message : state.tls?.checkClient(sock);
    if (refusal !== undefined) {
      deps.logger.debug({ client: sock.remoteAddress, refusal }, 'TLS client refused');
      sock.destroy();
    }
  });
  server.on('tlsClientError', (err, sock) => {
    deps.logger.debug({ client: sock.remoteAddress, error: err.message }, 'TLS handshake failed');
  });
}

function makeServer(deps: ApiDeps, options: http.ServerOptions, web: WebConfigSource | undefined, guard: WebGuard | undefined): http.Server {
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const served = async () => {
      if (guard) {
        const v = await guard.check(req, res);
        if (!v.ok) return send(res, v.status, `${http.STATUS_CODES[v.status]}\n`);
      }
      return route(deps, req, res);
    };
    served().catch((err) => {
      deps.logger.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
  const state = web?.current();
  if (web && state && !(state instanceof Error) && state.tls) {
    const server = nodeHTTPS().createServer({ ...options, ...state.tls.options }, handle);
    wireTLS(server, web, deps);
    return server;
  }
  return http.createServer(options, handle);
}

/**
 * Listens on every address (or systemd fd) in `on`. The gateway takes the listener when there is
 * one address, no web config and the fast path is on; otherwise Node serves them all.
 */
export async function startServer(deps: ApiDeps, on: ListenOn[], overrides: Partial<typeof LISTENER_BOUNDS> = {}, web?: WebConfigSource): Promise<Listeners> {
  const limits = deps.listenerLimits;
  const bounds = { ...LISTENER_BOUNDS, headersTimeoutMs: limits.headerTimeoutMs, maxConnections: limits.maxConnections, ...overrides };
  // Node requires requestTimeout >= headersTimeout.
  bounds.requestTimeoutMs = Math.max(bounds.requestTimeoutMs, bounds.headersTimeoutMs);
  const options: http.ServerOptions = {
    headersTimeout: bounds.headersTimeoutMs,
    requestTimeout: bounds.requestTimeoutMs,
    connectionsCheckingInterval: bounds.checkIntervalMs,
  };
  const guard = web ? new WebGuard(web) : undefined;
  const servers: http.Server[] = [];
  const addresses: AddressInfo[] = [];
  try {
    for (const where of on) {
      const server = makeServer(deps, options, web, guard);
      server.keepAliveTimeout = 65_000; // longer than Prometheus' idle timeout, so scrapes reuse connections
      server.maxConnections = bounds.maxConnections;
      boundPerClient(server, limits.maxPerClient);
      servers.push(server);
      const addr = where as ListenAddress;
      if (on.length === 1 && !web && !('fd' in where) && gatewayWanted(addr.host)) {
        // The stream engine owns the socket (src/api/gateway.ts); Node serves what it hands over.
        const gw = {
          server,
          stream: deps.runtime.stream,
          serve: (params: ProbeParams, scrapeTimeout: string, asker: Asker) => serveProbe(deps, params, scrapeTimeout, asker),
          limits: deps.listenerLimits,
          onError: (err: unknown, what: string) => deps.logger.error({ err }, what),
        };
        let host = addr.host;
        let port: number;
        try {
          port = startGateway(host, addr.port, gw);
        } catch (err) {
          // ":PORT" on a host without IPv6: IPv4 alone, as listenOn does for Node's listener.
          const code = (err as { code?: string }).code;
          if (!addr.anyFamily || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err;
          host = '0.0.0.0';
          port = startGateway(host, addr.port, gw);
        }
        return { servers, addresses: [{ address: host, family: isIP(host) === 6 ? 'IPv6' : 'IPv4', port }], gateway: true };
      }
      addresses.push(await listenOn(server, where));
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  return { servers, addresses, gateway: false };
}
