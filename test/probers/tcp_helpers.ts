// Shared pieces of the TCP prober tests: a tcp Module with blackbox's defaults, a probe context
// with a deadline, loopback servers that close cleanly, and reading values out of /probe text.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { defaultDNS, defaultGRPC, defaultHTTP, defaultICMP, defaultTCP } from '../../src/config/defaults';
import type { Module, TCPModule } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox/index';
import type { ProbeResult } from '../../src/result';
import type { FlowRegistry, ProbeContext } from '../../src/probers/types';
import type { PKI } from '../lab/pki';
import { testRuntime } from '../runtime';

/** A tcp module as blackbox's defaults give it (ip6 preferred with fallback), with `tcp` overrides. */
export function tcpModule(tcp: Partial<TCPModule> = {}, timeout = 2): Module {
  return {
    name: 'tcp_test',
    prober: 'tcp',
    timeout,
    http: defaultHTTP(),
    tcp: { ...defaultTCP(), ...tcp },
    icmp: defaultICMP(),
    dns: defaultDNS(),
    grpc: defaultGRPC(),
  };
}

export function probeContext(timeoutSeconds: number, flows?: FlowRegistry): ProbeContext {
  return {
    signal: AbortSignal.timeout(timeoutSeconds * 1000),
    deadline: performance.now() + timeoutSeconds * 1000,
    logger: silentLogger,
    runtime: testRuntime,
    flows,
  };
}

export interface Listening {
  port: number;
  /** destroys accepted connections (TLS layers first) and closes the server */
  close: () => Promise<void>;
  /** a TLS socket the test wrapped around an accepted connection itself (STARTTLS) */
  trackTLS: (s: net.Socket) => void;
}

/**
 * Listens on host:0. TLS sockets are destroyed before the TCP sockets under them: the other order
 * crashes Node 20.20 (SIGSEGV in TLSWrap reading into a freed SSL).
 */
export async function listen(server: net.Server, host: string): Promise<Listening> {
  const conns = new Set<net.Socket>();
  const secure = new Set<net.Socket>();
  const track = (set: Set<net.Socket>) => (c: net.Socket) => {
    set.add(c);
    c.on('close', () => set.delete(c));
  };
  server.on('connection', track(conns));
  server.on('secureConnection', track(secure));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of secure) c.destroy();
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
    trackTLS: track(secure),
  };
}

/** Calls onLine for every line (CR LF or LF) a socket receives. */
export function onLines(sock: net.Socket, onLine: (line: string) => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      onLine(buf.slice(0, nl).replace(/\r$/, ''));
      buf = buf.slice(nl + 1);
    }
  });
  sock.on('error', () => undefined);
}

export async function probeText(result: ProbeResult, module: Module): Promise<string> {
  return renderProbe(result, module).metrics();
}

/** The value of the series `name{labels}` in exposition text, undefined when absent. */
export function metric(text: string, name: string, labels?: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (labels && !Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) continue;
    return Number(m[3]);
  }
  return undefined;
}

/** Series names with their label names, e.g. "probe_tls_version_info{version}", sorted. */
export function seriesShapes(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!m) continue;
    const names = m[2] ? [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((x) => x[1]).sort() : [];
    out.add(names.length ? `${m[1]}{${names.join(',')}}` : m[1]);
  }
  return [...out].sort();
}

/** An SMTP-like server (RFC 3207): greeting, EHLO advertising STARTTLS, the upgrade, EHLO again over TLS. */
export async function smtpServer(pki: PKI, seen: string[], closers: Array<() => Promise<void>>): Promise<number> {
  const ctx = tls.createSecureContext({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key });
  let trackTLS: (s: net.Socket) => void = () => undefined;
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.write('220 mail.test ESMTP ready\r\n');
    let upgraded = false;
    onLines(c, (line) => {
      if (upgraded) return;
      seen.push(`plain: ${line}`);
      if (line.startsWith('EHLO ')) c.write('250-mail.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n');
      if (line === 'STARTTLS') {
        upgraded = true;
        c.removeAllListeners('data');
        c.write('220 2.0.0 go ahead\r\n', () => {
          const s = new tls.TLSSocket(c, { isServer: true, secureContext: ctx });
          trackTLS(s);
          s.on('error', () => undefined);
          onLines(s, (l) => {
            seen.push(`tls: ${l}`);
            if (l.startsWith('EHLO ')) s.write('250-mail.test\r\n250 AUTH PLAIN\r\n');
            if (l === 'QUIT') s.end('221 bye\r\n');
          });
        });
      }
    });
  });
  const listening = await listen(server, '127.0.0.1');
  trackTLS = listening.trackTLS;
  closers.push(listening.close);
  return listening.port;
}
