// The grpc prober, as blackbox_exporter's prober/grpc.go: resolve the target's host (the resolve
// phase), then one grpc.health.v1.Health/Check call (the check phase: connect, TLS, call) with the
// module's service and metadata, over TLS when `tls` is set. Success: status OK and SERVING.
import type * as Grpc from '@grpc/grpc-js';
import { grpc } from '../../util/heavy';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSecureContext, type SecureVersion } from 'node:tls';
import type { GRPCModule, Module, TLSVersionName } from '../../config/types';
import type { ProbeResult } from '../../result';
import { Deadline } from '../deadline';
import { classifyError, failResult, ProbeFailure } from '../errors';
import { resolverFor } from '../dns/resolver';
import { resolveForProbe } from '../resolve';
import { tlsMaterial } from '../tcp/tls';
import { tlsFactsFromSocket } from '../tls_facts';
import type { ProbeContext, Prober } from '../types';
import { check, observedCredentials } from './health';

const VERSIONS: Record<TLSVersionName, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/** blackbox: "http://" is prepended to a target without a scheme; host and port come from the URL. */
export function grpcTarget(target: string): { host: string; port: string } {
  const withScheme = target.startsWith('http://') || target.startsWith('https://') ? target : `http://${target}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ProbeFailure('config', `could not parse target URL ${JSON.stringify(target)}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // URL drops a scheme's default port; blackbox keeps what the user typed (":80" stays 80 with TLS).
  const authority = withScheme.replace(/^https?:\/\//, '').split(/[/?#]/)[0];
  return { host, port: /:(\d+)$/.exec(authority)?.[1] ?? '' };
}

async function credentials(g: GRPCModule, onTLS: Parameters<typeof observedCredentials>[1]): Promise<Grpc.ChannelCredentials> {
  if (!g.tls) return grpc().credentials.createInsecure();
  const m = await tlsMaterial(g.tls_config);
  let ctx;
  try {
    ctx = createSecureContext({ ...m, minVersion: g.tls_config.min_version && VERSIONS[g.tls_config.min_version], maxVersion: g.tls_config.max_version && VERSIONS[g.tls_config.max_version] });
  } catch (err) {
    throw new ProbeFailure('config', `tls_config: ${(err as Error).message}`);
  }
  return observedCredentials(grpc().credentials.createFromSecureContext(ctx, { rejectUnauthorized: !g.tls_config.insecure_skip_verify }), onTLS);
}

/** A failed call's reason: the socket or TLS error grpc-js quotes in its details when there is one. */
function callFailure(code: number, details: string): ProbeFailure {
  if (code === grpc().status.DEADLINE_EXCEEDED) return new ProbeFailure('timeout', `gRPC status DEADLINE_EXCEEDED: ${details}`);
  const errno = /\b(E[A-Z]+|ERR_[A-Z_]+|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_[A-Z_]+)\b/.exec(details)?.[1];
  if (errno) {
    const c = classifyError({ code: errno, message: details });
    if (c.reason !== 'network_error') return new ProbeFailure(c.reason, `gRPC status ${grpc().status[code]}: ${details}`);
  }
  if (/certificate|self.signed|altnames/i.test(details)) return new ProbeFailure('cert_untrusted', `gRPC status ${grpc().status[code]}: ${details}`);
  // OpenSSL's own text (grpc-js quotes it without a code): a handshake that failed.
  if (/SSL routines|wrong version number|handshake failure|tlsv1 alert/i.test(details)) return new ProbeFailure('tls_handshake', `gRPC status ${grpc().status[code]}: ${details}`);
  return new ProbeFailure('grpc_not_serving', `gRPC status ${grpc().status[code] ?? code}: ${details}`);
}

export const probeGRPC: Prober = async (target: string, module: Module, ctx: ProbeContext) => {
  // The packages this probe will use (src/util/heavy.ts) load before its clock starts: a first
  // probe's phases and duration must not carry their load time.
  grpc();
  const start = performance.now();
  const g = module.grpc;
  const result: ProbeResult = { target, module: module.name, prober: 'grpc', success: false, startedAt: Date.now(), durationSeconds: 0, phases: {}, grpc: { statusCode: 0, ssl: false } };
  const deadline = new Deadline(ctx);
  deadline.phase = 'resolve';
  let client: Grpc.Client | undefined;
  try {
    const { host, port: typedPort } = grpcTarget(target);
    const resolved = await resolveForProbe(host, g.preferred_ip_protocol, g.ip_protocol_fallback, deadline, resolverFor(undefined, ctx.runtime, ctx.gate), result);
    deadline.phase = 'check';
    const checkStart = performance.now();
    const port = typedPort || (g.tls ? '443' : '80');
    const address = resolved.addresses[0];
    let tlsSocket: Parameters<typeof tlsFactsFromSocket>[0] | undefined;
    const creds = await credentials(g, (s) => (tlsSocket = s));
    const serverName = g.tls_config.server_name || host;
    const options: Grpc.ChannelOptions = {
      // The address is dialed as resolved (no second lookup); the name is what :authority and TLS say.
      'grpc.default_authority': `${isIP(host) === 6 ? `[${host}]` : host}:${port}`,
      'grpc.ssl_target_name_override': serverName,
      'grpc.max_reconnect_backoff_ms': 1000,
      'grpc.enable_retries': 0,
    };
    client = new (grpc().Client)(isIP(address) === 6 ? `ipv6:[${address}]:${port}` : `ipv4:${address}:${port}`, creds, options);
    const metadata = new (grpc().Metadata)();
    for (const [k, vs] of Object.entries(g.metadata)) for (const v of vs) metadata.add(k, v);
    const c = client;
    const onAbort = () => c.close();
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    const outcome = await check(client, g.service, metadata, new Date(Date.now() + Math.max(0, ctx.deadline - performance.now())));
    deadline.signal.removeEventListener('abort', onAbort);
    result.phases.check = (performance.now() - checkStart) / 1000;
    result.grpc = { statusCode: outcome.code, servingStatus: outcome.servingStatus, ssl: outcome.code === grpc().status.OK && tlsSocket !== undefined };
    if (result.grpc.ssl && tlsSocket) result.tls = tlsFactsFromSocket(tlsSocket);
    if (outcome.code !== grpc().status.OK) throw deadline.timedOut ?? callFailure(outcome.code, outcome.details ?? '');
    if (outcome.servingStatus !== 'SERVING') throw new ProbeFailure('grpc_not_serving', `the health check of service ${JSON.stringify(g.service)} answered ${outcome.servingStatus}`);
    result.success = true;
  } catch (err) {
    failResult(result, deadline.timedOut ?? err);
  } finally {
    deadline.close();
    client?.close();
    result.durationSeconds = (performance.now() - start) / 1000;
  }
  return result;
};
