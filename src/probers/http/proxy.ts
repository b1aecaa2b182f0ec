// Proxies as prometheus/common's ProxyConfig.Proxy() picks them: proxy_url for every request
// (http.ProxyURL), unless no_proxy is set, then x/net/http/httpproxy's rules with proxy_url for
// both schemes; proxy_from_environment: HTTP_PROXY, HTTPS_PROXY and NO_PROXY (http.
// ProxyFromEnvironment). httpproxy never proxies localhost or loopback addresses. A plain http://
// target goes to the proxy in absolute form; an https:// one through a CONNECT tunnel
// (RFC 9110 section 9.3.6) with proxy_connect_header. http:// proxies only.
import { isIP, type Socket } from 'node:net';
import type { HTTPClientConfig } from '../../config/types';
import { ProbeFailure } from '../errors';

/** `*`, host names and domains (".example.com" subdomains only), IPs and CIDRs, each with an optional port. */
function matchesNoProxy(noProxy: string, url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (raw === '*') return true;
    const cidr = /^([^/]+)\/(\d+)$/.exec(raw);
    if (cidr && isIP(host) && isIP(cidr[1]) === isIP(host)) {
      if (inCIDR(host, cidr[1], Number(cidr[2]))) return true;
      continue;
    }
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(raw);
    if (!m) continue;
    const pat = m[1].replace(/^\[(.*)\]$/, '$1');
    if (m[2] !== undefined && m[2] !== port) continue;
    if (isIP(pat)) {
      if (pat === host) return true;
      continue;
    }
    const bare = pat.replace(/^\*?\./, '');
    if (host === bare ? !pat.startsWith('.') : host.endsWith(`.${bare}`)) return true;
  }
  return false;
}

function bytes(ip: string): number[] {
  if (isIP(ip) === 4) return ip.split('.').map(Number);
  const [head, tail = ''] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]);
}

function inCIDR(ip: string, net: string, bits: number): boolean {
  const a = bytes(ip);
  const b = bytes(net);
  for (let i = 0; i < a.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 255 : (255 << (8 - bits)) & 255;
    if ((a[i] & mask) !== (b[i] & mask)) return false;
  }
  return true;
}

/** httpproxy's useProxy: localhost and loopback addresses are never proxied. */
function isLocal(url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

const env = (name: string): string | undefined => process.env[name] || process.env[name.toLowerCase()] || undefined;

/** The proxy a request to `url` goes through, or undefined to go direct. */
export function proxyFor(c: HTTPClientConfig, url: URL): URL | undefined {
  let proxy: string | undefined;
  let noProxy: string | undefined;
  if (c.proxy_url !== undefined && !c.no_proxy) return new URL(c.proxy_url);
  if (c.proxy_url !== undefined) {
    proxy = c.proxy_url;
    noProxy = c.no_proxy;
  } else if (c.proxy_from_environment) {
    proxy = url.protocol === 'https:' ? env('HTTPS_PROXY') : env('HTTP_PROXY');
    noProxy = env('NO_PROXY');
  }
  if (proxy === undefined || isLocal(url) || (noProxy && matchesNoProxy(noProxy, url))) return undefined;
  // httpproxy takes "host:port" without a scheme as http://.
  return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`);
}

/** Proxy-Authorization from the proxy URL's user info, as Go's transport sends it. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (proxy.username === '' && proxy.password === '') return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** The head of the CONNECT request for `authority` (host:port), with proxy_connect_header values. */
export function connectRequest(authority: string, proxy: URL, headers: Record<string, string[]>): string {
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  for (const [name, values] of Object.entries(headers)) for (const v of values) lines.push(`${name}: ${v}`);
  const auth = proxyAuthorization(proxy);
  if (auth !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'proxy-authorization')) lines.push(`Proxy-Authorization: ${auth}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A CONNECT answer's head is small; a proxy sending more without an end of head is broken. */
const MAX_CONNECT_HEAD = 16 * 1024;

/** Sends CONNECT on `sock` and resolves once the proxy answered 2xx; the socket is then the tunnel. */
export function tunnel(sock: Socket, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_CONNECT_HEAD) done(new ProbeFailure('protocol_error', 'the proxy answered CONNECT with a head larger than 16 KiB'));
        return;
      }
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1', 0, end));
      if (!status) return done(new ProbeFailure('protocol_error', 'the proxy answered CONNECT with no HTTP status line'));
      if (status[1][0] !== '2') return done(new ProbeFailure('refused', `the proxy refused CONNECT with status ${status[1]}`));
      // Bytes after the head belong to the tunnel (a server speaking first): hand them back.
      const rest = head.subarray(end + 4);
      done();
      if (rest.length > 0) sock.unshift(rest);
    };
    const onEnd = () => done(new ProbeFailure('protocol_error', 'the proxy closed the connection during CONNECT'));
    const done = (err?: Error) => {
      // Paused: whatever reads next (TLS) takes the tunnel's bytes, none dropped in between.
      sock.pause();
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.once('error', done);
    sock.write(request);
  });
}
