// Name resolution as blackbox_exporter's chooseProtocol does it: try the preferred family,
// fall back to the other one when allowed, and time the lookup as the "resolve" phase.
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { IpProtocol } from '../config/types';
import { ProbeFailure } from './errors';

export interface Resolved {
  /** addresses of the chosen family, in resolver order */
  addresses: string[];
  family: 4 | 6;
  seconds: number;
}

function familyOf(p: IpProtocol): 4 | 6 {
  return p === 'ip6' ? 6 : 4;
}

async function lookupFamily(host: string, family: 4 | 6, abort: { readonly signal: AbortSignal }): Promise<string[]> {
  const signal = abort.signal;
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(new ProbeFailure('dns_timeout', `resolving ${host} did not finish before the deadline`));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const res = await Promise.race([dns.lookup(host, { family, all: true, verbatim: true }), aborted]);
    return res.map((r) => r.address);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    if (err instanceof ProbeFailure) throw err;
    if (code === 'EAI_AGAIN') throw new ProbeFailure('dns_timeout', `resolving ${host}: ${code}`);
    throw new ProbeFailure('dns_error', `resolving ${host}: ${(err as Error).message}`);
  } finally {
    aborted.catch(() => undefined);
  }
}

/**
 * An IP literal (brackets allowed for IPv6) as resolveTarget would return it, without a promise:
 * the http prober's continuous path stays synchronous up to the engine's submit. undefined: a name.
 */
export function resolveLiteral(host: string, preferred: IpProtocol, fallback: boolean): Resolved | undefined {
  const start = performance.now();
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const literal = isIP(bare);
  if (!literal) return undefined;
  const fam = literal as 4 | 6;
  if (fam !== familyOf(preferred) && !fallback) {
    throw new ProbeFailure('dns_nxdomain', `${bare} is an IPv${fam} address but preferred_ip_protocol is ${preferred} without fallback`);
  }
  return { addresses: [bare], family: fam, seconds: (performance.now() - start) / 1000 };
}

/**
 * Resolves `host` (a name or an IP literal, brackets allowed for IPv6). `abort` is an AbortController
 * or a ProbeContext: its signal is read only for a lookup, so a literal makes no signal (run_probe.ts).
 */
export async function resolveTarget(
  host: string,
  preferred: IpProtocol,
  fallback: boolean,
  abort: { readonly signal: AbortSignal },
): Promise<Resolved> {
  const start = performance.now();
  const lit = resolveLiteral(host, preferred, fallback);
  if (lit) return lit;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const first = familyOf(preferred);
  let addresses = await lookupFamily(bare, first, abort);
  let family = first;
  if (addresses.length === 0 && fallback) {
    family = first === 4 ? 6 : 4;
    addresses = await lookupFamily(bare, family, abort);
  }
  if (addresses.length === 0) {
    throw new ProbeFailure('dns_nxdomain', `${bare} has no ${fallback ? 'IPv4 or IPv6' : `IPv${first}`} address`);
  }
  return { addresses, family, seconds: (performance.now() - start) / 1000 };
}
