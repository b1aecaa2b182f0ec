// The one HTTP listener: /metrics, blackbox-compatible /probe, /results, /-/healthy, /-/ready, /-/reload.
import http from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import type { LatestResults } from '../outputs/latest';
import type { TaskMetrics } from '../outputs/metrics';
import type { GatewayLimits } from '../native/stream';
import { RequestCancel } from './admission';
import { gatewayWanted, startGateway } from './gateway';
import { probeParams, serveProbe, type ProbeDeps } from './probe_handler';

export interface ApiDeps extends ProbeDeps {
  metrics: TaskMetrics;
  latest: LatestResults;
  ready(): boolean;
  reload(): Promise<{ ok: boolean; error?: string }>;
  /** bounds of the listener's connections (the native gateway's; Node's server has its own) */
  listenerLimits: GatewayLimits;
}

function send(res: http.ServerResponse, status: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function handleProbe(deps: ApiDeps, url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  // The client leaving before the answer cancels the probe, as blackbox's request context does.
  const cancel = new RequestCancel();
  const onClose = () => {
    if (!res.writableFinished) cancel.abort();
  };
  res.once('close', onClose);
  const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
  try {
    const a = await serveProbe(deps, probeParams(url.searchParams), req.headers['x-prometheus-scrape-timeout-seconds'], { client, cancel });
    if (!cancel.aborted) send(res, a.status, a.series ? a.series.metricsBytes() : a.body, a.contentType);
  } finally {
    res.off('close', onClose);
  }
}

/** Bytes of body a request to sonde may carry (none needs one): more is refused. */
const MAX_BODY_BYTES = 64 * 1024;

/** Reads the request to its end; false when it failed or was too large (then the answer is given). */
function requestComplete(req: http.IncomingMessage): Promise<boolean> {
  if (req.complete) return Promise.resolve(true);
  return new Promise((resolve) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_BODY_BYTES) {
        req.socket.end('HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        req.socket.destroySoon();
        resolve(false);
      }
    });
    req.once('end', () => resolve(bytes <= MAX_BODY_BYTES));
    // Node's parser refused the rest (it answers 400 itself) or the client went away.
    req.once('error', () => resolve(false));
    req.once('close', () => resolve(req.complete && bytes <= MAX_BODY_BYTES));
  });
}

async function route(deps: ApiDeps, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sonde.invalid');
  switch (url.pathname) {
    case '/metrics':
      return send(res, 200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType);
    case '/probe':
      return handleProbe(deps, url, req, res);
    case '/results': {
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 1000) || 1000, 100_000);
      const list = deps.latest.list(url.searchParams.get('task') ?? undefined, limit);
      return send(res, 200, JSON.stringify(list.map((e) => deps.latest.toJSON(e))) + '\n', 'application/json');
    }
    case '/-/healthy':
      return send(res, 200, 'Healthy\n');
    case '/-/ready':
      return deps.ready() ? send(res, 200, 'Ready\n') : send(res, 503, 'Not ready\n');
    case '/-/reload': {
      if (req.method !== 'POST' && req.method !== 'PUT') return send(res, 405, 'This endpoint requires a POST request.\n');
      // Node calls this handler once the head is read: a body that then turns out malformed gets
      // a 400 from Node, and that request must not have reloaded. Act once the request is whole.
      if (!(await requestComplete(req))) return;
      const r = await deps.reload();
      return r.ok ? send(res, 200, 'OK\n') : send(res, 500, `failed to reload config: ${r.error}\n`);
    }
    case '/':
      return send(
        res,
        200,
        '<html><head><title>sonde</title></head><body><h1>sonde</h1><ul><li><a href="/metrics">/metrics</a></li><li><a href="/probe?target=127.0.0.1:22&module=tcp_connect">/probe</a></li><li><a href="/results">/results</a></li></ul></body></html>\n',
        'text/html; charset=utf-8',
      );
    default:
      return send(res, 404, 'Not Found\n');
  }
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses blackbox's --web.listen-address form: "HOST:PORT", ":PORT" or "[V6]:PORT". */
export function parseListenAddress(s: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--web.listen-address: got ${JSON.stringify(s)}, expected HOST:PORT, :PORT or [IPv6]:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

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

export async function startServer(
  deps: ApiDeps,
  addr: ListenAddress,
  overrides: Partial<typeof LISTENER_BOUNDS> = {},
): Promise<{ server: http.Server; address: AddressInfo; gateway: boolean }> {
  const limits = deps.listenerLimits;
  const bounds = { ...LISTENER_BOUNDS, headersTimeoutMs: limits.headerTimeoutMs, maxConnections: limits.maxConnections, ...overrides };
  // Node requires requestTimeout >= headersTimeout.
  bounds.requestTimeoutMs = Math.max(bounds.requestTimeoutMs, bounds.headersTimeoutMs);
  const options: http.ServerOptions = {
    headersTimeout: bounds.headersTimeoutMs,
    requestTimeout: bounds.requestTimeoutMs,
    connectionsCheckingInterval: bounds.checkIntervalMs,
  };
  const server = http.createServer(options, (req, res) => {
    route(deps, req, res).catch((err) => {
      deps.logger.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus' idle timeout, so scrapes reuse connections
  server.maxConnections = bounds.maxConnections;
  boundPerClient(server, limits.maxPerClient);
  if (gatewayWanted(addr.host)) {
    // The stream engine owns the socket (src/api/gateway.ts); Node serves what it hands over.
    const port = startGateway(addr.host, addr.port, {
      server,
      stream: deps.runtime.stream,
      serve: (params, scrapeTimeout, asker) => serveProbe(deps, params, scrapeTimeout, asker),
      limits: deps.listenerLimits,
      onError: (err, what) => deps.logger.error({ err }, what),
    });
    return { server, address: { address: addr.host, family: isIP(addr.host) === 6 ? 'IPv6' : 'IPv4', port }, gateway: true };
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, address: server.address() as AddressInfo, gateway: false };
}
