// What prometheus/common's HTTP client adds to every request (config/http_config.go round
// trippers): the Authorization header of basic_auth, authorization or bearer_token, and the
// http_headers. Secret files are read per probe and trimmed, as prometheus/common does, so a rotated
// credential needs no reload. Shared by the http and websocket probers.
import type { HeaderValues, HTTPClientConfig } from '../config/types';
import { oauth2Token } from './oauth2';
import { readSecretFile } from './secret_file';

/**
 * The Authorization header value the client config asks for, or undefined. `abort` (the probe's
 * context) bounds an oauth2 token request; its signal is read only then.
 */
export async function authorizationHeader(c: HTTPClientConfig, abort?: { readonly signal: AbortSignal }): Promise<string | undefined> {
  if (c.basic_auth) {
    const b = c.basic_auth;
    const user = b.username_file ? await readSecretFile(b.username_file, 'basic_auth.username_file') : b.username;
    const password = b.password_file ? await readSecretFile(b.password_file, 'basic_auth.password_file') : (b.password ?? '');
    return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  if (c.authorization) {
    const a = c.authorization;
    const credentials = a.credentials_file ? await readSecretFile(a.credentials_file, 'authorization.credentials_file') : (a.credentials ?? '');
    return credentials === '' ? undefined : `${a.type} ${credentials}`;
  }
  if (c.bearer_token_file) return `Bearer ${await readSecretFile(c.bearer_token_file, 'bearer_token_file')}`;
  if (c.bearer_token) return `Bearer ${c.bearer_token}`;
  if (c.oauth2) return `Bearer ${await oauth2Token(c.oauth2, abort?.signal)}`;
  return undefined;
}

/** http_headers as (name, value) pairs in order: values, then secrets, then each file's content. */
export async function extraHeaders(headers: Record<string, HeaderValues>): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const [name, h] of Object.entries(headers)) {
    for (const v of h.values) out.push([name, v]);
    for (const v of h.secrets) out.push([name, v]);
    for (const f of h.files) out.push([name, await readSecretFile(f, `http_headers.${name} file`)]);
  }
  return out;
}

/** Whether a client config reads files per request (then a request built once cannot be reused). */
export function readsFiles(c: HTTPClientConfig): boolean {
  const b = c.basic_auth;
  return Boolean(
    b?.password_file || b?.username_file || c.authorization?.credentials_file || c.bearer_token_file || c.oauth2 ||
      Object.values(c.http_headers).some((h) => h.files.length > 0) ||
      c.tls_config.ca_file || c.tls_config.cert_file || c.tls_config.key_file,
  );
}
