// Shared pieces of the HTTP prober tests: a defaulted module, a probe context, local servers on
// 127.0.0.1 (only), and rendering a result as blackbox /probe text.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { defaultDNS, defaultGRPC, defaultHTTP, defaultICMP, defaultTCP } from '../../src/config/defaults';
import type { HTTPModule, Module } from '../../src/config/types';
import { renderProbe } from '../../src/outputs/blackbox/index';
import { probeHTTP } from '../../src/probers/http/probe';
import type { FlowRegistry } from '../../src/probers/types';
import type { ProbeResult } from '../../src/result';
import type { Runtime } from '../../src/runtime';
import { testRuntime } from '../runtime';

/** An http module with blackbox's defaults, IPv4 preferred (tests serve on 127.0.0.1) and OCSP not requested. */
export function httpModule(over: Partial<HTTPModule> = {}, timeout = 5): Module {
  return {
    name: 'http_test',
    prober: 'http',
    timeout,
    http: { ...defaultHTTP(), preferred_ip_protocol: 'ip4', request_ocsp: false, ...over },
    tcp: defaultTCP(),
    icmp: defaultICMP(),
    dns: defaultDNS(),
    grpc: defaultGRPC(),
  };
}

const logger = pino({ level: 'silent' });

/** Runs probeHTTP with a deadline of module.timeout seconds (on the test runtime unless given another). */
export async function probe(target: string, module: Module, flows?: FlowRegistry, runtime: Runtime = testRuntime): Promise<ProbeResult> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), module.timeout * 1000);
  try {
    return await probeHTTP(target, module, { signal: ac.signal, deadline: performance.now() + module.timeout * 1000, logger, flows, runtime });
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
