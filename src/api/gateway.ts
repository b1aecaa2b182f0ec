// The native /probe gateway (native/gateway/gateway.cc): the stream engine's thread owns sonde's
// listener, answers /probe for the modules below itself (no JS turn per probe) and hands every
// other connection to Node's HTTP server, request unread. Which modules qualify, and the tables
// the native side evaluates them with, are decided here from the same code the probers use
// (buildRequestSpec, classifyError), so that both paths give the same answer.
import type http from 'node:http';
import net from 'node:net';
import { availableParallelism, constants as osConstants } from 'node:os';
import type { Config, Module } from '../config/types';
import { classifyError } from '../probers/errors';
import { fastPathEnabled } from '../probers/fast';
import { buildRequestSpec } from '../probers/http/request_spec';
import type { GatewayAsk, GatewayEngine, GatewayModuleSpec, StreamPool } from '../native/stream';

/**
 * Whether the gateway may answer a module natively: options the engine honours only. Anything
 * with TLS, a dialogue, a body, rules on the body or headers, credentials read from files, a
 * source address or a Host override goes through the TypeScript prober.
 */
export function gatewayEligible(m: Module): boolean {
  if (m.prober === 'tcp') return !m.tcp.tls && m.tcp.query_response.length === 0 && m.tcp.source_ip_address === undefined;
  if (m.prober !== 'http') return false;
  const h = m.http;
  const method = h.method.toUpperCase() || 'GET';
  return (
    (method === 'GET' || method === 'HEAD') &&
    h.body === undefined &&
    h.body_file === undefined &&
    (h.compression === '' || h.compression === 'identity') &&
    h.fail_if_body_matches_regexp.length === 0 &&
    h.fail_if_body_not_matches_regexp.length === 0 &&
    h.fail_if_header_matches.length === 0 &&
    h.fail_if_header_not_matches.length === 0 &&
    !h.fail_if_not_ssl &&
    h.basic_auth === undefined &&
    h.bearer_token_file === undefined &&
    h.proxy_url === undefined &&
    !Object.keys(h.headers).some((k) => k.toLowerCase() === 'host')
  );
}

/** The native description of an eligible module. */
export async function gatewayModule(m: Module): Promise<GatewayModuleSpec> {
  if (m.prober === 'tcp') {
    const t = m.tcp;
    return { name: m.name, kind: 'tcp', timeout: m.timeout, preferred: t.preferred_ip_protocol === 'ip4' ? 4 : 6, fallback: t.ip_protocol_fallback, resetOnClose: t.reset_on_close };
  }
  const h = m.http;
  // Headers do not depend on the target for an eligible module (no Host, no credentials files).
  const spec = await buildRequestSpec('http://192.0.2.1/', m);
  return {
    name: m.name,
    kind: 'http',
    timeout: m.timeout,
    preferred: h.preferred_ip_protocol === 'ip4' ? 4 : 6,
    fallback: h.ip_protocol_fallback,
    resetOnClose: false,
    method: spec.method,
    headerLines: Object.entries(spec.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join(''),
    validStatus: h.valid_status_codes,
    validVersions: h.valid_http_versions,
    followRedirects: h.follow_redirects,
    transparentGzip: spec.transparentGzip,
    bodyLimit: h.body_size_limit,
  };
}

/** errno -> failure reason, as classifyError gives it for each code (the default, network_error, left out). */
export function errnoReasons(): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (const [code, errno] of Object.entries(osConstants.errno)) {
    const { reason } = classifyError({ code, message: code });
    if (reason !== 'network_error') out.push([errno, reason]);
  }
  return out;
}

export interface GatewayDeps {
  server: http.Server;
  /** the runtime's stream engines: the gateway's listeners run on their threads */
  stream: StreamPool;
  /** runs a probe the native side could not finish and renders its /probe text */
  finish(a: GatewayAsk): Promise<{ status: number; contentType: string; body: string }>;
  onError(err: unknown, what: string): void;
}

/**
 * Whether sonde's listener goes through the gateway: the fast path is on, SONDE_GATEWAY=0 does not
 * turn the gateway off (to compare, or to rule it out), and the host is an address.
 */
export function gatewayWanted(host: string): boolean {
  return fastPathEnabled() && process.env.SONDE_GATEWAY !== '0' && net.isIP(host) !== 0;
}

/**
 * Engine threads answering /probe: SONDE_GATEWAY_THREADS, else one per core up to 2. Each has its
 * own listening socket on the port (SO_REUSEPORT) and the kernel spreads connections over them.
 */
function gatewayThreads(): number {
  const env = Number(process.env.SONDE_GATEWAY_THREADS);
  if (Number.isInteger(env) && env >= 1 && env <= 64) return env;
  return Math.min(2, availableParallelism());
}

let active: GatewayEngine[] = [];

/** Starts the gateway's listeners; returns the bound port. Throws as listen(2) fails (EADDRINUSE...). */
export function startGateway(host: string, port: number, deps: GatewayDeps): number {
  const engines = deps.stream.gatewayEngines(gatewayThreads());
  let bound = port;
  try {
    // The first listener picks the port when 0 was asked; the others join it.
    for (const gw of engines) bound = listenOn(gw, host, bound, engines.length > 1, deps);
  } catch (err) {
    // The same words as Node's listen error, which operators search for.
    const errno = (err as { errno?: number }).errno;
    const code = Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? 'listen error';
    throw Object.assign(new Error(`listen ${code}: ${(err as Error).message.replace(/^listen: /, '').toLowerCase()} ${host.includes(':') ? `[${host}]` : host}:${port}`), { code });
  }
  active = engines;
  return bound;
}

function listenOn(gw: GatewayEngine, host: string, port: number, reusePort: boolean, deps: GatewayDeps): number {
  return gw.listen(host, port, reusePort, {
    handoff(fd) {
      try {
        const sock = new net.Socket({ fd, readable: true, writable: true });
        deps.server.emit('connection', sock);
      } catch (err) {
        deps.onError(err, 'adopting a connection from the gateway');
      }
    },
    ask(a) {
      deps.finish(a).then(
        (r) => gw.answer(a, r.status, r.contentType, r.body),
        (err) => {
          deps.onError(err, 'finishing a /probe request of the gateway');
          gw.answer(a, 500, 'text/plain; charset=utf-8', 'internal error\n');
        },
      );
    },
  });
}

/** Hands the gateway the modules of a (re)loaded config it may answer natively. */
export async function configureGateway(config: Config): Promise<void> {
  const mods = await Promise.all(Object.values(config.modules).filter(gatewayEligible).map(gatewayModule));
  const reasons = errnoReasons();
  for (const gw of active) gw.setGatewayModules(mods, reasons);
}

/** The gateway's request counts over all its engines. */
export function gatewayCounts(): { native: number; typescript: number; node: number } {
  const sum = { native: 0, typescript: 0, node: 0 };
  for (const gw of active) {
    const c = gw.counters();
    sum.native += c.gatewayAnswered ?? 0;
    sum.typescript += c.gatewayAsked ?? 0;
    sum.node += c.gatewayHandoffs ?? 0;
  }
  return sum;
}
