// Turns an HTTP module into what one probe sends: target URL, method, headers, body, TLS options.
// Files (body_file, password_file, bearer_token_file, ca/cert/key) are read at probe time, as
// blackbox does, so rotating a credential needs no reload.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { SecureContext, SecureContextOptions } from 'node:tls';
import type { HTTPModule, Module, TLSVersionName } from '../../config/types';
import { authorizationHeader, extraHeaders, readsFiles } from '../client_auth';
import { ProbeFailure } from '../errors';
import { tlsMaterial } from '../tcp/tls';
import { USER_AGENT } from '../../version';
import { nodeTLS } from '../../util/heavy';
import type { ClientTLSOptions } from './connector';

export interface RequestSpec {
  url: URL;
  method: string;
  /** module headers plus auth and User-Agent; Host is kept apart */
  headers: Record<string, string>;
  /** names of headers only sent to the target's own host (credentials), as Go's redirect policy */
  sensitive: Set<string>;
  /** Host header from module headers (or the /probe `hostname` parameter), if any */
  hostOverride?: string;
  body?: Buffer;
  /** TLS options, built on first use: reading and hashing the files costs more than a plain-HTTP probe */
  tls: () => Promise<ClientTLSOptions>;
  /**
   * What the first hop sends, made on first use (src/probers/http/chain.ts): a spec shared by the
   * probes of one (module, target) makes them once, not per probe.
   */
  firstHop?: { headers: Record<string, string>; wire?: Buffer };
}

const TLS_VERSIONS: Record<TLSVersionName, NonNullable<ClientTLSOptions['minVersion']>> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};

/** "host:port/path" without a scheme means http://, as blackbox's ProbeHTTP. */
export function targetURL(target: string): URL {
  const withScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(target) ? target : `http://${target}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ProbeFailure('config', `could not parse target URL ${JSON.stringify(target)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProbeFailure('config', `unsupported URL scheme ${url.protocol} in ${target} (http or https)`);
  }
  return url;
}

/** The URL's host without IPv6 brackets. */
export function bareHost(url: URL): string {
  const h = url.hostname;
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

async function readRaw(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ProbeFailure('config', `reading ${what} ${file}: ${(err as Error).message}`);
  }
}

/**
 * Secure contexts by content: building one (parsing the CA bundle into an X509 store) costs more
 * than the rest of a loopback probe, and the files rarely change. Keyed by file contents, so an
 * edited file takes effect on the next probe.
 */
const contexts = new Map<string, SecureContext>();
const MAX_CONTEXTS = 64;

function secureContext(opts: SecureContextOptions): SecureContext {
  const hash = createHash('sha256');
  for (const k of ['ca', 'cert', 'key', 'minVersion', 'maxVersion'] as const) {
    const v = opts[k];
    hash.update(`${k}:`).update(v === undefined ? '-' : Buffer.isBuffer(v) ? v : String(v)).update('\0');
  }
  const key = hash.digest('hex');
  let ctx = contexts.get(key);
  if (!ctx) {
    try {
      ctx = nodeTLS().createSecureContext(opts);
    } catch (err) {
      throw new ProbeFailure('config', `tls_config: ${(err as Error).message}`);
    }
    if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value as string);
    contexts.set(key, ctx);
  }
  return ctx;
}

async function tlsOptions(h: HTTPModule, url: URL, hostOverride: string | undefined): Promise<ClientTLSOptions> {
  const c = h.tls_config;
  const sc: SecureContextOptions = {};
  Object.assign(sc, await tlsMaterial(c));
  if (c.min_version) sc.minVersion = TLS_VERSIONS[c.min_version];
  if (c.max_version) sc.maxVersion = TLS_VERSIONS[c.max_version];
  const opts: ClientTLSOptions = { rejectUnauthorized: !c.insecure_skip_verify, secureContext: secureContext(sc) };
  // blackbox: server_name, else the Host header (avoids verifying against an IP), else the URL host.
  const name = c.server_name || hostOverride?.replace(/:\d+$/, '') || bareHost(url);
  opts.host = name; // the name checkServerIdentity verifies
  // RFC 6066 section 3: SNI carries host names only, never IP literals.
  if (!isIP(name)) opts.servername = name;
  if (h.request_ocsp) opts.requestOCSP = true;
  // enable_http2 (blackbox's default): offer h2 by ALPN as Go's transport does; a server without h2
  // picks http/1.1. Plain http:// stays HTTP/1.1 either way (Go does not speak h2c).
  if (h.enable_http2) opts.ALPNProtocols = ['h2', 'http/1.1'];
  return opts;
}

function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** `abort`: the probe's context, which bounds what building waits for (an oauth2 token). */
export async function buildRequestSpec(target: string, module: Module, abort?: { readonly signal: AbortSignal }): Promise<RequestSpec> {
  const h = module.http;
  const url = targetURL(target);
  const headers: Record<string, string> = {};
  const sensitive = new Set<string>();
  let hostOverride: string | undefined;
  // prometheus/common's round trippers run after blackbox set the module headers: http_headers
  // add values (comma-joined here, one field on the wire), the Authorization header is its own.
  for (const [name, value] of await extraHeaders(h.http_headers)) {
    const k = name.toLowerCase();
    headers[k] = headers[k] === undefined ? value : `${headers[k]}, ${value}`;
  }
  for (const [name, value] of Object.entries(h.headers)) {
    if (name.toLowerCase() === 'host') hostOverride = value;
    else headers[name.toLowerCase()] = value;
  }
  // blackbox 0.28 (prober/http.go userAgentDefaultHeader): its own User-Agent unless the module sets one.
  headers['user-agent'] ??= USER_AGENT;
  const auth = await authorizationHeader(h, abort);
  if (auth !== undefined && headers['authorization'] === undefined) {
    headers['authorization'] = auth;
    sensitive.add('authorization');
  }
  // No Accept-Encoding of sonde's own, compression set or not: prometheus/common's transport sets
  // DisableCompression (config/http_config.go, v0.67.4 as blackbox 0.28 uses it) and blackbox adds
  // none; a module that wants one sets it in headers (checked against compression at load).
  let body: Buffer | undefined;
  if (h.body_file) body = await readRaw(h.body_file, 'body_file');
  else if (h.body !== undefined && h.body !== '') body = Buffer.from(h.body);
  if (h.fail_if_ssl && h.fail_if_not_ssl) {
    throw new ProbeFailure('config', 'fail_if_ssl and fail_if_not_ssl cannot both be set');
  }
  return {
    url,
    method: h.method.toUpperCase() || 'GET',
    headers,
    sensitive,
    hostOverride,
    body,
    tls: memo(() => tlsOptions(h, url, hostOverride)),
  };
}

/** Whether a spec of this module stays valid across probes: it reads no file (blackbox reads them per probe). */
function reusable(h: HTTPModule): boolean {
  return !h.body_file && !readsFiles(h);
}

const MAX_SPECS_PER_MODULE = 65536;
const specs = new WeakMap<Module, Map<string, RequestSpec>>();

/**
 * buildRequestSpec, shared by the probes of one (module, target) when the module reads no file:
 * then the spec comes back without a promise, so continuous mode builds it once per target.
 * Modules are replaced whole on reload, so a cache keyed by the module object never goes stale.
 */
export function requestSpec(target: string, module: Module, abort?: { readonly signal: AbortSignal }): RequestSpec | Promise<RequestSpec> {
  let byTarget = specs.get(module);
  const cached = byTarget?.get(target);
  if (cached) return cached;
  if (!reusable(module.http)) return buildRequestSpec(target, module, abort);
  return buildRequestSpec(target, module).then((spec) => {
    if (!byTarget) specs.set(module, (byTarget = new Map()));
    if (byTarget.size >= MAX_SPECS_PER_MODULE) byTarget.clear();
    byTarget.set(target, spec);
    return spec;
  });
}
