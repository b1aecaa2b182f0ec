// Shared pieces of the HTTP prober tests: a defaulted module, a probe context, local servers on
// 127.0.0.1 (only), and rendering a result as blackbox /probe text.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import type { HTTPModule, Module } from '../../src/config/types';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { probeHTTP } from '../../src/probers/http';
import type { FlowRegistry } from '../../src/probers/types';
import type { ProbeResult } from '../../src/result';

export function httpModule(over: Partial<HTTPModule> = {}, timeout = 5): Module {
  const tlsDefaults = { insecure_skip_verify: false };
  const http: HTTPModule = {
    valid_status_codes: [],
    valid_http_versions: [],
    method: 'GET',
    headers: {},
    compression: '',
    follow_redirects: true,
    fail_if_ssl: false,
    fail_if_not_ssl: false,
    fail_if_body_matches_regexp: [],
    fail_if_body_not_matches_regexp: [],
    fail_if_header_matches: [],
    fail_if_header_not_matches: [],
    body_size_limit: 0,
    preferred_ip_protocol: 'ip4',
    ip_protocol_fallback: true,
    tls_config: tlsDefaults,
    enable_http2: true,
    skip_resolve_phase_with_proxy: false,
    all_addresses: false,
    max_redirects: 10,
    request_ocsp: false,
    ...over,
  };
  const unused = { preferred_ip_protocol: 'ip4' as const, ip_protocol_fallback: true };
  return {
    name: 'http_test',
    prober: 'http',
    timeout,
    http,
    tcp: { ...unused, query_response: [], tls: false, tls_config: tlsDefaults, reset_on_close: false },
    icmp: { ...unused, payload_size: 0, dont_fragment: false, ttl: 0, pings: 1, interval: 1 },
    dns: {
      ...unused,
      transport_protocol: 'udp',
      dns_over_tls: false,
      tls_config: tlsDefaults,
      query_name: '',
      query_type: 'A',
      query_class: 'IN',
      recursion_desired: true,
      valid_rcodes: [],
      validate_answer_rrs: { fail_if_matches_regexp: [], fail_if_all_match_regexp: [], fail_if_not_matches_regexp: [], fail_if_none_matches_regexp: [] },
      validate_authority_rrs: { fail_if_matches_regexp: [], fail_if_all_match_regexp: [], fail_if_not_matches_regexp: [], fail_if_none_matches_regexp: [] },
      validate_additional_rrs: { fail_if_matches_regexp: [], fail_if_all_match_regexp: [], fail_if_not_matches_regexp: [], fail_if_none_matches_regexp: [] },
    },
    grpc: { service: '', ...unused, tls: false, tls_config: tlsDefaults },
  };
}

const logger = pino({ level: 'silent' });

/** Runs probeHTTP with a deadline of module.timeout seconds. */
export async function probe(target: string, module: Module, flows?: FlowRegistry): Promise<ProbeResult> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), module.timeout * 1000);
  try {
    return await probeHTTP(target, module, { signal: ac.signal, deadline: performance.now() + module.timeout * 1000, logger, flows });
  } finally {
    clearTimeout(timer);
  }
}

/** The /probe text of a result. */
export async function render(result: ProbeResult, module: Module): Promise<string> {
  return renderProbe(result, module).metrics();
}

/** The value of one sample line, e.g. metric(text, 'probe_http_status_code') or with labels. */
export function metric(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (line.slice(0, sp) === series) return Number(line.slice(sp + 1));
  }
  return undefined;
}

export interface LocalServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

type Handler = http.RequestListener;

function listening(server: http.Server | https.Server, scheme: string, host: string): Promise<LocalServer> {
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      const port = (server.address() as AddressInfo).port;
      const h = host.includes(':') ? `[${host}]` : host;
      resolve({
        server,
        port,
        url: `${scheme}://${h}:${port}`,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

export function httpServer(handler: Handler, host = '127.0.0.1'): Promise<LocalServer> {
  return listening(http.createServer(handler), 'http', host);
}

export function httpsServer(opts: https.ServerOptions, handler: Handler, host = '127.0.0.1'): Promise<LocalServer> {
  return listening(https.createServer(opts, handler), 'https', host);
}
