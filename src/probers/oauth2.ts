// OAuth 2.0 client credentials (RFC 6749 section 4.4), as prometheus/common's oauth2 round tripper
// does with golang.org/x/oauth2/clientcredentials: POST grant_type=client_credentials (plus scope
// and endpoint_params) to token_url with the client's id and secret in HTTP Basic auth, and cache
// the access token until it expires. Tokens are kept per configuration, so probes share them.
import { Agent, request } from 'undici';
import type { OAuth2 } from '../config/types';
import { ProbeFailure } from './errors';
import { readSecretFile } from './secret_file';
import { tlsMaterial } from './tcp/tls';
import { USER_AGENT } from '../version';

interface Cached {
  token: string;
  /** Date.now() ms after which the token is fetched again; Infinity without expires_in */
  until: number;
}

const tokens = new Map<string, Cached>();
const MAX_TOKENS = 256;
/** x/oauth2 renews a token this long before it expires (its expiryDelta) */
const EXPIRY_DELTA_MS = 10_000;

async function secret(o: OAuth2): Promise<string> {
  if (!o.client_secret_file) return o.client_secret ?? '';
  return readSecretFile(o.client_secret_file, 'oauth2.client_secret_file');
}

/** RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic encoding. */
function basic(id: string, secretText: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secretText)}`).toString('base64')}`;
}

/** A token request in flight, shared by the probes that wait for it. */
interface Pending {
  token: Promise<string>;
  /** probes waiting that may still leave; at 0 after one left, the request is aborted */
  waiters: number;
  abort: AbortController;
}

/** Token requests in flight, by key: probes of one module starting together share one request. */
const pending = new Map<string, Pending>();
/** A bound on a token request nobody waits for with a deadline (a hung token server must not pile up requests). */
const TOKEN_TIMEOUT_MS = 30_000;

/**
 * An access token for `o`, from the cache or the token endpoint; failures are ProbeFailures. With
 * `signal` (the probe's), the wait ends at the probe's deadline or cancellation, whatever the token
 * server does: blackbox's token request runs under the probe's context too. A request shared with
 * other probes goes on while one of them still waits.
 */
export async function oauth2Token(o: OAuth2, signal?: AbortSignal): Promise<string> {
  const clientSecret = await secret(o);
  const key = JSON.stringify([o.token_url, o.client_id, clientSecret, o.scopes, o.endpoint_params]);
  const hit = tokens.get(key);
  if (hit && Date.now() < hit.until) return hit.token;
  let p = pending.get(key);
  if (!p) {
    const abort = new AbortController();
    const token = fetchToken(o, clientSecret, key, AbortSignal.any([abort.signal, AbortSignal.timeout(TOKEN_TIMEOUT_MS)])).finally(() => pending.delete(key));
    // Every waiter may have left before it settles.
    token.catch(() => undefined);
    p = { token, waiters: 0, abort };
    pending.set(key, p);
  }
  return signal ? waitFor(p, signal, o.token_url) : p.token;
}

function waitFor(p: Pending, signal: AbortSignal, url: string): Promise<string> {
  const left = () => new ProbeFailure('timeout', `oauth2: no token from ${url} before the probe's deadline`);
  if (signal.aborted) return Promise.reject(left());
  p.waiters++;
  return new Promise<string>((resolve, reject) => {
    const onAbort = () => {
      if (--p.waiters === 0) p.abort.abort();
      reject(left());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.token.then(
      (t) => {
        signal.removeEventListener('abort', onAbort);
        p.waiters--;
        resolve(t);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        p.waiters--;
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function fetchToken(o: OAuth2, clientSecret: string, key: string, signal: AbortSignal): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (o.scopes.length > 0) form.set('scope', o.scopes.join(' '));
  for (const [k, v] of Object.entries(o.endpoint_params)) form.set(k, v);
  const dispatcher = new Agent({ connect: { rejectUnauthorized: !o.tls_config.insecure_skip_verify, servername: o.tls_config.server_name, ...(await tlsMaterial(o.tls_config)) } });
  let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown; error?: unknown };
  try {
    const res = await request(o.token_url, {
      method: 'POST',
      dispatcher,
      signal,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(o.client_id, clientSecret), 'user-agent': USER_AGENT },
      body: form.toString(),
    });
    const text = await res.body.text();
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ProbeFailure('config', `oauth2: the token endpoint answered ${res.statusCode} without JSON`);
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw new ProbeFailure('config', `oauth2: the token endpoint answered ${res.statusCode}${typeof body.error === 'string' ? ` (${body.error})` : ''}`);
    }
  } catch (err) {
    if (err instanceof ProbeFailure) throw err;
    throw new ProbeFailure('config', `oauth2: fetching a token from ${o.token_url}: ${(err as Error).message}`);
  } finally {
    void dispatcher.close();
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') throw new ProbeFailure('config', 'oauth2: the token endpoint answered without access_token');
  const expires = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in);
  const until = Number.isFinite(expires) && expires > 0 ? Date.now() + expires * 1000 - EXPIRY_DELTA_MS : Infinity;
  if (tokens.size >= MAX_TOKENS) tokens.delete(tokens.keys().next().value as string);
  tokens.set(key, { token: body.access_token, until });
  return body.access_token;
}
