// --web.external-url and --web.route-prefix as blackbox computes them (main.go computeExternalURL):
// the external URL defaults to http://HOSTNAME:PORT/ of the first listen address; the route prefix
// defaults to its path, and is "/" or "/PREFIX/" (the trailing slash keeps relative links right).
import { hostname } from 'node:os';

export interface WebPaths {
  routePrefix: string;
  externalURL: string;
}

/** The paths, or the reason the flags cannot make them (a usage error). */
export function routePrefixOf(external: string | undefined, prefix: string | undefined, firstListen: string): WebPaths | string {
  let u = external ?? '';
  if (u === '') {
    const port = /:(\d+)$/.exec(firstListen)?.[1];
    if (port === undefined) return `--web.external-url: cannot infer it from the listen address ${JSON.stringify(firstListen)}`;
    u = `http://${hostname()}:${port}/`;
  }
  if (/^["']|["']$/.test(u)) return '--web.external-url: URL must not begin or end with quotes';
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return `--web.external-url: got ${JSON.stringify(u)}, expected an absolute URL such as https://probe.example.net/sonde/`;
  }
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path;
  const p = '/' + (prefix ?? path).replace(/^\/+|\/+$/g, '');
  return { routePrefix: p === '/' ? '/' : `${p}/`, externalURL: url.toString() };
}
