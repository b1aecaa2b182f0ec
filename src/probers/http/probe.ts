// The HTTP(S) prober: blackbox_exporter's ProbeHTTP (prober/http.go, 0.23) on undici, with one fresh
// connection per hop and phases timed on the socket (see http/connector.ts).
//
// The /probe `hostname` parameter is applied as blackbox does, by a Host entry in the module's
// headers (withHostname below); that name is then also the TLS server name unless
// tls_config.server_name is set.
import { performance } from 'node:perf_hooks';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { ProbeFailure } from '../errors';
import { probeChain } from './chain';
import { proxyFor } from './proxy';
import { bareHost, type RequestSpec, requestSpec } from './request_spec';
import { resolverFor } from '../dns/resolver';
import { type Resolved, resolveLocal, resolveTarget } from '../resolve';
import type { Prober } from '../types';

/**
 * The module to use for a /probe request with `hostname=`: a copy whose headers carry Host.
 * Throws ProbeFailure('config') when the module already sets a different Host, as blackbox's
 * setHTTPHost refuses it.
 */
export function withHostname(module: Module, hostname: string): Module {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(module.http.headers)) {
    if (name.toLowerCase() === 'host') {
      if (value !== hostname) {
        throw new ProbeFailure('config', `host header defined both in module configuration (${value}) and with URL-parameter 'hostname' (${hostname})`);
      }
      continue;
    }
    headers[name] = value;
  }
  headers.Host = hostname;
  return { ...module, http: { ...module.http, headers } };
}

/**
 * The parent result of an all_addresses probe: it speaks for the first failing address (or the
 * first address) and succeeds only when every address does.
 */
export function combinePerAddress(children: ProbeResult[]): ProbeResult {
  const lead = children.find((c) => !c.success) ?? children[0];
  const parent: ProbeResult = { ...lead, success: children.every((c) => c.success), perAddress: children };
  if (parent.success) {
    delete parent.reason;
    delete parent.message;
  }
  return parent;
}

function failed(base: ProbeResult, err: unknown): ProbeResult {
  let reason: ProbeResult['reason'] = 'internal';
  let message: string;
  if (err instanceof ProbeFailure) ({ reason, message } = err);
  else message = `unexpected error in the http prober: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  // Field by field, as probeChain builds its result: a spread copy costs a hidden class per probe.
  const { target, module, prober, startedAt, phases } = base;
  return { target, module, prober, success: false, reason, message, startedAt, durationSeconds: 0, phases };
}

export const probeHTTP: Prober = async (target, module, ctx) => {
  const startedAt = Date.now();
  const t0 = performance.now();
  const base: ProbeResult = {
    target,
    module: module.name,
    prober: 'http',
    success: false,
    startedAt,
    durationSeconds: 0,
    phases: { resolve: 0, connect: 0, tls: 0, processing: 0, transfer: 0 },
  };
  // Every result passed here is this probe's own, made by probeChain, failed() or combinePerAddress().
  const done = (r: ProbeResult): ProbeResult => {
    r.durationSeconds = (performance.now() - t0) / 1000;
    return r;
  };
  const h = module.http;
  let spec: RequestSpec;
  let resolved: Resolved;
  try {
    // No await when neither is needed: continuous mode reaches the engine's submit synchronously.
    const s = requestSpec(target, module, ctx);
    spec = s instanceof Promise ? await s : s;
    const host = bareHost(spec.url);
    const resolver = resolverFor(h.dns_resolver, ctx.runtime, ctx.gate);
    // blackbox's shouldResolveDNSWithProxy: the proxy resolves the name, no resolve phase here.
    if (h.skip_resolve_phase_with_proxy && h.proxy_url !== undefined && proxyFor(h, spec.url)) resolved = { addresses: [''], family: 4, seconds: 0 };
    else resolved = resolveLocal(host, h.preferred_ip_protocol, h.ip_protocol_fallback, resolver) ?? (await resolveTarget(host, h.preferred_ip_protocol, h.ip_protocol_fallback, ctx, resolver));
  } catch (err) {
    return done(failed(base, err));
  }
  try {
    const first = (address: string) => ({ address, family: resolved.family, resolveSeconds: resolved.seconds });
    // The module's own DNS server, when it answered, named on the result (sonde_dns_resolver_info).
    const named = (r: ProbeResult) => ((r.resolver = resolved.server), r);
    if (!h.all_addresses) return done(named(await probeChain(spec, module, ctx, first(resolved.addresses[0]), base)));
    const children = await Promise.all(resolved.addresses.map(async (address) => done(await probeChain(spec, module, ctx, first(address), base))));
    return done(combinePerAddress(children));
  } catch (err) {
    return done(failed(base, err));
  }
};
