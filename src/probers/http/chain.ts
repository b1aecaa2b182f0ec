// Follows one target through its redirect chain from one resolved address, each hop on a fresh
// connection, summing phases over hops as blackbox does ("summed over all redirects").
import { isIP } from 'node:net';
import type { Module } from '../../config/types';
import type { HTTPHop, ProbeResult, TLSFacts } from '../../result';
import { ProbeFailure } from '../errors';
import { resolverFor } from '../dns/resolver';
import { resolveTarget } from '../resolve';
import type { ProbeContext } from '../types';
import type { ClientTLSOptions } from './connector';
import { exchange, type ExchangeInput, type ExchangeOutcome } from './exchange';
import { proxyFor } from './proxy';
import { bareHost, type RequestSpec } from './request_spec';
import { checkBodyRules } from './body_match';
import { checkResponse, hasBodyRules, hasHeaderRules, statusOK } from './rules';

// A server sends the same Last-Modified to every probe of a target: one parse while it does not change.
let lastDateText = '';
let lastDateValue = NaN;
function parseHTTPDate(text: string): number {
  if (text !== lastDateText) {
    lastDateValue = Date.parse(text);
    lastDateText = text;
  }
  return lastDateValue;
}

/** Statuses for which Go's http.Client consults CheckRedirect (net/http/client.go redirectBehavior). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export const PHASES = ['resolve', 'connect', 'tls', 'processing', 'transfer'] as const;

function headerOne(o: ExchangeOutcome, name: string): string | undefined {
  const v = o.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

interface Hop {
  url: URL;
  method: string;
  body?: Buffer;
}

/** The headers of a hop: credentials and the Host override stay on the target's host. */
function hopHeaders(spec: RequestSpec, hop: Hop): Record<string, string> {
  const sameHost = hop.url.host === spec.url.host;
  const headers: Record<string, string> = {};
  for (const k in spec.headers) if (sameHost || !spec.sensitive.has(k)) headers[k] = spec.headers[k];
  headers.host = (sameHost && spec.hostOverride) || hop.url.host;
  // content-length follows the body (src/probers/http/wire.ts; undici alike).
  return headers;
}

/** TLS options for an https hop (read on first use: building them reads files). */
async function hopTLS(spec: RequestSpec, hop: Hop, module: Module): Promise<ClientTLSOptions> {
  let tls = await spec.tls();
  if (hop.url.host !== spec.url.host && !module.http.tls_config.server_name) {
    const name = bareHost(hop.url);
    tls = { ...tls, host: name, servername: isIP(name) ? undefined : name };
  }
  return tls;
}

/** The request Go's client sends for a redirect (RFC 9110 section 15.4: 303 and, by custom, 301/302 POST become GET). */
function nextHop(hop: Hop, status: number, location: string): Hop {
  const url = new URL(location, hop.url);
  url.hash = '';
  const toGet = status === 303 || ((status === 301 || status === 302) && hop.method !== 'GET' && hop.method !== 'HEAD');
  if (toGet) return { url, method: hop.method === 'HEAD' ? 'HEAD' : 'GET' };
  return { url, method: hop.method, body: hop.body };
}

/** The proxy of a hop (proxy.ts), its address resolved once per probe; undefined: direct. */
async function hopProxy(h: Module['http'], url: URL, ctx: ProbeContext, known: Map<string, string>): Promise<ExchangeInput['proxy']> {
  const p = proxyFor(h, url);
  if (!p) return undefined;
  if (p.protocol !== 'http:') throw new ProbeFailure('unsupported', `proxy ${p.protocol}// is not supported (http:// proxies only)`);
  const host = bareHost(p);
  let address = known.get(host);
  if (address === undefined) {
    const r = await resolveTarget(host, h.preferred_ip_protocol, h.ip_protocol_fallback, ctx, resolverFor(h.dns_resolver, ctx.runtime));
    address = r.addresses[0];
    known.set(host, address);
  }
  return { url: p, address, port: Number(p.port) || 80, connectHeaders: h.proxy_connect_header };
}

export async function probeChain(
  spec: RequestSpec,
  module: Module,
  ctx: ProbeContext,
  first: { address: string; family: 4 | 6; resolveSeconds: number },
  /** copied, never changed */
  base: Readonly<ProbeResult>,
): Promise<ProbeResult> {
  const h = module.http;
  // Field by field, never `...base`: a spread copy made V8 build hidden classes anew on every probe
  // (CopyAddDescriptor, MigrateToMap), which cost more than half of the JS time of an http answer.
  const result: ProbeResult = {
    target: base.target,
    module: base.module,
    prober: base.prober,
    success: false,
    startedAt: base.startedAt,
    durationSeconds: 0,
    phases: { resolve: 0, connect: 0, tls: 0, processing: 0, transfer: 0 } satisfies Record<(typeof PHASES)[number], number>,
    address: first.address,
    ipProtocol: first.family,
    dnsLookupSeconds: first.resolveSeconds,
  };
  result.phases.resolve = first.resolveSeconds;
  if (first.address === '') {
    // Not resolved (skip_resolve_phase_with_proxy): no address, no family, as blackbox reports none.
    delete result.address;
    delete result.ipProtocol;
    result.resolveSkipped = true;
  }
  const hops: HTTPHop[] = [];
  let hop: Hop = { url: spec.url, method: spec.method, body: spec.body };
  let redirects = 0;
  let out: ExchangeOutcome | undefined;
  let failure: ProbeFailure | undefined;
  let revoked: TLSFacts | undefined;
  const proxies = new Map<string, string>();

  for (let i = 0; ; i++) {
    const href = hop.url.href;
    let address = first.address;
    let resolveSeconds = i === 0 ? first.resolveSeconds : 0;
    if (i > 0 && ctx.gate) {
      // A redirect goes where the server says: the probe_policy holds for every hop, not only the target.
      try {
        ctx.gate.endpoint(bareHost(hop.url), Number(hop.url.port) || (hop.url.protocol === 'https:' ? 443 : 80));
      } catch (err) {
        failure = err instanceof ProbeFailure ? err : new ProbeFailure('policy_denied', (err as Error).message);
        break;
      }
    }
    if (i > 0 && bareHost(hop.url) !== bareHost(spec.url)) {
      try {
        const r = await resolveTarget(bareHost(hop.url), h.preferred_ip_protocol, h.ip_protocol_fallback, ctx, resolverFor(h.dns_resolver, ctx.runtime, ctx.gate));
        address = r.addresses[0];
        resolveSeconds = r.seconds;
        result.phases.resolve += r.seconds;
      } catch (err) {
        failure = err instanceof ProbeFailure ? err : new ProbeFailure('dns_error', (err as Error).message);
        break;
      }
    }
    let headers: Record<string, string>;
    let wire: RequestSpec['firstHop'];
    let tls: ClientTLSOptions | undefined;
    try {
      if (i === 0) {
        // The first hop's headers depend on the spec alone; a shared spec (requestSpec) keeps them.
        wire = spec.firstHop ??= { headers: hopHeaders(spec, hop) };
        headers = wire.headers;
      } else headers = hopHeaders(spec, hop);
      if (hop.url.protocol === 'https:') tls = await hopTLS(spec, hop, module);
    } catch (err) {
      failure = err instanceof ProbeFailure ? err : new ProbeFailure('config', (err as Error).message);
      break;
    }
    let proxy: ExchangeInput['proxy'];
    try {
      proxy = await hopProxy(h, hop.url, ctx, proxies);
    } catch (err) {
      failure = err instanceof ProbeFailure ? err : new ProbeFailure('dns_error', (err as Error).message);
      break;
    }
    out = await exchange({
      url: hop.url,
      address,
      proxy,
      method: hop.method,
      headers,
      body: hop.body,
      tls,
      compression: h.compression === 'identity' ? '' : h.compression,
      bodySizeLimit: h.body_size_limit,
      bodyWindow: hasBodyRules(h) ? h.body_rules_window : 0,
      abort: ctx,
      deadline: ctx.deadline,
      flows: ctx.flows,
      runtime: ctx.runtime,
      wire,
      allHeaders: hasHeaderRules(h),
    });
    const phases: Record<string, number> = { resolve: resolveSeconds };
    for (const k in out.phases) {
      const v = out.phases[k];
      phases[k] = v;
      result.phases[k] = (result.phases[k] ?? 0) + v;
    }
    hops.push({ url: href, address, statusCode: out.statusCode || undefined, phases });
    if (out.tls?.ocsp?.status === 'revoked') revoked = out.tls;
    if (out.failure) {
      failure = out.failure;
      break;
    }
    const location = headerOne(out, 'location');
    if (!REDIRECTS.has(out.statusCode) || location === undefined) break;
    // Go's CheckRedirect runs (and blackbox counts) even for a redirect it then refuses to follow.
    redirects++;
    if (!h.follow_redirects) break;
    let next: Hop;
    try {
      next = nextHop(hop, out.statusCode, location);
    } catch {
      failure = new ProbeFailure('protocol_error', `unparsable Location header ${JSON.stringify(location)}`);
      break;
    }
    if (redirects > h.max_redirects) {
      failure = new ProbeFailure('too_many_redirects', `stopped after ${h.max_redirects} redirects`);
      break;
    }
    if (next.url.protocol !== 'http:' && next.url.protocol !== 'https:') {
      failure = new ProbeFailure('protocol_error', `redirect to unsupported scheme ${next.url.protocol}`);
      break;
    }
    hop = next;
  }

  const got = out && out.statusCode > 0 ? out : undefined;
  const ssl = got ? hop.url.protocol === 'https:' : false;
  let dueToRegex = false;
  let dueToCEL = false;
  if (got && (!failure || failure.reason === 'body_too_large' || failure.reason === 'reset')) {
    // blackbox checks the status before reading the body, so a bad status wins over a body error.
    const body = !failure && got.body && hasBodyRules(h) && statusOK(h, got.statusCode) ? await checkBodyRules(h, got.body, ctx.deadline) : undefined;
    const verdict = checkResponse(h, { statusCode: got.statusCode, headers: got.headers, httpVersion: got.httpVersion ?? '1.1', ssl }, body);
    if (verdict.failure && (!failure || verdict.failure.reason === 'http_status')) {
      failure = verdict.failure;
      dueToRegex = verdict.dueToRegex;
    }
    dueToCEL = verdict.failure !== undefined && verdict.failure === body?.failure && body.dueToCEL === true;
  }
  if (!failure && revoked) failure = new ProbeFailure('ocsp_revoked', 'the stapled OCSP response says the certificate is revoked');

  const lastModified = got ? headerOne(got, 'last-modified') : undefined;
  const lm = lastModified ? parseHTTPDate(lastModified) : NaN;
  result.http = {
    statusCode: got?.statusCode ?? 0,
    version: got ? Number(got.httpVersion ?? '1.1') : 0,
    ssl,
    redirects,
    contentLength: got ? got.contentLength : 0,
    uncompressedBodyLength: got ? got.uncompressedLength : 0,
    lastModified: Number.isFinite(lm) ? Math.floor(lm / 1000) : undefined,
    failedDueToRegex: dueToRegex,
    failedDueToCEL: dueToCEL,
    hops,
  };
  if (out?.tls) result.tls = out.tls;
  result.success = !failure;
  if (failure) {
    result.reason = failure.reason;
    result.message = failure.message;
  }
  return result;
}
