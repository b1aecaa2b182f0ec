// What each path of sonde's listener answers, under --web.route-prefix as blackbox mounts them:
// /metrics, /probe, /results, /-/healthy, /-/ready, /-/reload (POST), / and /config, /logs,
// /api/v1/tasks (src/api/tasks.ts).
import type http from 'node:http';
import type { LatestResults } from '../outputs/latest';
import type { TaskMetrics } from '../outputs/metrics';
import type { GatewayLimits } from '../native/stream';
import { RequestCancel } from './admission';
import { probeParams, serveProbe, type ProbeDeps } from './probe_handler';
import { serveDiagnostics } from './diagnostics';
import { servePages, type PageDeps } from './pages';
import { serveTasks, type TaskApiDeps } from './tasks';

export interface ApiDeps extends ProbeDeps, PageDeps {
  metrics: TaskMetrics;
  latest: LatestResults;
  ready(): boolean;
  reload(): Promise<{ ok: boolean; error?: string }>;
  /** bounds of the listener's connections (the native gateway's; Node's server has its own) */
  listenerLimits: GatewayLimits;
  /** "/" (the default) or "/PREFIX/" (--web.route-prefix, normalised as blackbox does) */
  routePrefix?: string;
  /** where / redirects when routePrefix is not "/" (--web.external-url) */
  externalURL?: string;
  /** --web.enable-diagnostics: CPU profile, heap snapshot and runtime stats under /debug/pprof/ */
  diagnostics?: boolean;
  /** /api/v1/tasks: the tasks' lifecycle, and task changes (absent: 404) */
  tasks?: TaskApiDeps;
}

export function send(res: http.ServerResponse, status: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8'): void {
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

/** Bytes of body a request to sonde may carry (none but PUT /api/v1/tasks needs one): more is refused. */
const MAX_BODY_BYTES = 64 * 1024;
/** A task's body: as much as a config file may have (its targets may be many). */
const MAX_TASK_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Reads the request to its end, keeping the body when `keep`; undefined when it failed or was
 * larger than `max` (then the answer is given).
 */
function readRequest(req: http.IncomingMessage, max: number, keep: boolean): Promise<Buffer | undefined> {
  // A whole request not read yet still flows its body to the listeners below; one read already has none.
  if ((req.complete && !keep) || req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve) => {
    let bytes = 0;
    const chunks: Buffer[] = [];
    const whole = () => (bytes <= max ? Buffer.concat(chunks) : undefined);
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (keep && bytes <= max) chunks.push(chunk);
      if (bytes > max) {
        req.socket.end('HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        req.socket.destroySoon();
        resolve(undefined);
      }
    });
    req.once('end', () => resolve(whole()));
    // Node's parser refused the rest (it answers 400 itself) or the client went away.
    req.once('error', () => resolve(undefined));
    req.once('close', () => resolve(req.complete ? whole() : undefined));
  });
}

const requestComplete = async (req: http.IncomingMessage): Promise<boolean> => (await readRequest(req, MAX_BODY_BYTES, false)) !== undefined;

/** Paths that change state: POST only (405 otherwise, blackbox's text), acted on once the request is whole. */
async function stateChange(req: http.IncomingMessage, res: http.ServerResponse, act: () => Promise<void>): Promise<void> {
  if (req.method !== 'POST') return send(res, 405, 'This endpoint requires a POST request.\n');
  // Node calls this handler once the head is read: a body that then turns out malformed gets
  // a 400 from Node, and that request must not have acted.
  if (!(await requestComplete(req))) return;
  return act();
}

/** The path under the route prefix ("/metrics"), or undefined when the request is outside it. */
function routed(prefix: string, pathname: string): string | undefined {
  if (prefix === '/') return pathname;
  if (pathname === prefix.slice(0, -1)) return '/';
  return pathname.startsWith(prefix) ? pathname.slice(prefix.length - 1) : undefined;
}

export async function route(deps: ApiDeps, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sonde.invalid');
  const path = routed(deps.routePrefix ?? '/', url.pathname);
  if (path === undefined) {
    // As blackbox (and Prometheus): "/" outside the prefix redirects to the external URL.
    if (url.pathname !== '/') return send(res, 404, 'Not Found\n');
    res.writeHead(302, { Location: deps.externalURL ?? deps.routePrefix ?? '/', 'Content-Length': 0 });
    return void res.end();
  }
  switch (path) {
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
    case '/-/reload':
      return stateChange(req, res, async () => {
        const r = await deps.reload();
        return r.ok ? send(res, 200, 'OK\n') : send(res, 500, `failed to reload config: ${r.error}\n`);
      });
    default: {
      if (deps.tasks) {
        const a = await serveTasks(deps.tasks, path, req, () => readRequest(req, MAX_TASK_BODY_BYTES, true));
        if (a === null) return;
        if (a) return send(res, a.status, a.body, a.contentType);
      }
      const page = await servePages(deps, path, url.searchParams);
      if (page) return send(res, page.status, page.body, page.contentType);
      if (deps.diagnostics && (await serveDiagnostics(path, url.searchParams, res))) return;
      return send(res, 404, 'Not Found\n');
    }
  }
}
