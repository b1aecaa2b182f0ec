// DNS over HTTPS (RFC 8484) through undici: the query as application/dns-message, POSTed or in the
// `dns` parameter of a GET (base64url without padding, section 4.1), on a fresh connection per
// probe as blackbox dials one per probe. ALPN offers h2 first: HTTP/2 when the server takes it.
import { performance } from 'node:perf_hooks';
import * as tls from 'node:tls';
import type { DNSModule } from '../../config/types';
import { ProbeFailure } from '../errors';
import { undici } from '../../util/heavy';
import { dnsTLSOptions } from './tls_context';
import { tlsFactsFromSocket } from '../tls_facts';
import type { TLSFacts } from '../../result';
import type { Answer, Endpoint, Match } from './exchange';

const MEDIA = 'application/dns-message';
// The largest DNS message (RFC 1035 over TCP: a 16-bit length).
const MAX_BODY = 65535;

export async function dohExchange(ep: Endpoint, host: string, dns: DNSModule, query: Buffer, match: Match, signal: AbortSignal): Promise<Answer & { httpVersion: number }> {
  const opts = await dnsTLSOptions(dns.tls_config, host);
  const start = performance.now();
  let connected = 0;
  let alpn: string | false | null = null;
  let facts: TLSFacts | undefined;
  const authority = ep.family === 6 ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
  const client = new (undici().Client)(`https://${authority}`, {
    allowH2: true,
    connect: (_o, cb) => {
      // localAddress reaches net.connect underneath (tls.connect passes its options on).
      const s = tls.connect({ ...opts, host: ep.address, port: ep.port, ALPNProtocols: ['h2', 'http/1.1'], ...(ep.source ? { localAddress: ep.source } : {}) } as tls.ConnectionOptions);
      s.once('secureConnect', () => {
        connected = performance.now();
        alpn = s.alpnProtocol;
        try {
          facts = tlsFactsFromSocket(s);
        } catch {
          facts = undefined;
        }
        cb(null, s);
      });
      s.once('error', (err) => cb(err, null));
      return s;
    },
  });
  try {
    const hostHeader = opts.servername ?? host;
    const path =
      dns.doh_method === 'GET' ? `${dns.doh_path}?dns=${query.toString('base64url')}` : dns.doh_path;
    const res = await client.request({
      path,
      method: dns.doh_method,
      headers: { accept: MEDIA, host: hostHeader, ...(dns.doh_method === 'POST' ? { 'content-type': MEDIA } : {}) },
      body: dns.doh_method === 'POST' ? query : undefined,
      signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) throw new ProbeFailure('dns_malformed', `the DoH response body is longer than ${MAX_BODY} bytes`);
      chunks.push(chunk);
    }
    const ended = performance.now();
    if (res.statusCode !== 200) throw new ProbeFailure('http_status', `the DoH server answered HTTP ${res.statusCode}`);
    const msg = match(Buffer.concat(chunks));
    if (!msg) throw new ProbeFailure('dns_id_mismatch', 'the DoH response does not answer the query (id or question)');
    const httpVersion = (alpn as string | false | null) === 'h2' ? 2 : 1.1;
    return { msg, connect: (connected - start) / 1000, request: (ended - connected) / 1000, tls: facts, httpVersion };
  } catch (err) {
    if (signal.aborted && !(err instanceof ProbeFailure)) throw signal.reason instanceof ProbeFailure ? signal.reason : new ProbeFailure('dns_timeout', 'no DoH answer before the deadline');
    throw err;
  } finally {
    client.destroy().catch(() => undefined);
  }
}
