// A web config's tls_server_config as Node's TLS options, and the client-certificate rules that
// Node's options cannot say alone (Go's tls.ClientAuthType, the toolkit's client_allowed_sans).
import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { WebTLS } from './config';
import { NODE_TLS_VERSION, opensslCiphers, opensslCurves } from './tls_names';
import { nodeTLS } from '../util/heavy';

/** A tls_server_config that cannot be used (its files unreadable, the key not the certificate's). */
export class WebTLSError extends Error {
  constructor(
    readonly reason: 'unreadable' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'WebTLSError';
  }
}

function readPEM(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new WebTLSError('unreadable', `failed to read ${key} (${file}): ${(err as Error).message}`);
  }
}

export interface ServerTLS {
  options: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean };
  /** the client's certificate is checked after the handshake: undefined when it may stay */
  checkClient(sock: TLSSocket): string | undefined;
}

/** Reads the certificate, key and client CAs now; throws WebTLSError when they cannot make a context. */
export function serverTLS(t: WebTLS): ServerTLS {
  const cert = t.cert_file !== '' ? readPEM(t.cert_file, 'cert_file') : t.cert;
  const key = t.key_file !== '' ? readPEM(t.key_file, 'key_file') : t.key;
  const ca = t.client_ca_file !== '' ? readPEM(t.client_ca_file, 'client_ca_file') : t.client_ca;
  const auth = t.client_auth_type === 'RequireClientCert' ? 'RequireAnyClientCert' : t.client_auth_type || 'NoClientCert';
  const options: ServerTLS['options'] = {
    cert,
    key,
    ca: ca === '' ? undefined : ca,
    minVersion: NODE_TLS_VERSION[t.min_version],
    maxVersion: NODE_TLS_VERSION[t.max_version],
    ciphers: opensslCiphers(t.cipher_suites),
    ecdhCurve: opensslCurves(t.curve_preferences),
    honorCipherOrder: t.prefer_server_cipher_suites,
    requestCert: auth !== 'NoClientCert',
    // Only RequireAndVerifyClientCert can be left to OpenSSL (it refuses a missing certificate
    // too); the others accept any or none and are decided in checkClient.
    rejectUnauthorized: auth === 'RequireAndVerifyClientCert',
  };
  try {
    nodeTLS().createSecureContext(options); // tls.X509KeyPair's check: the key must be the certificate's
  } catch (err) {
    throw new WebTLSError('invalid', `failed to load X509KeyPair: ${(err as Error).message}`);
  }
  const sans = t.client_allowed_sans;
  return {
    options,
    checkClient(sock) {
      const peer = sock.getPeerX509Certificate();
      if (auth === 'RequireAnyClientCert' && !peer) return 'a client certificate is required';
      if (auth === 'VerifyClientCertIfGiven' && peer && !sock.authorized) return `the client certificate does not verify: ${String(sock.authorizationError)}`;
      if (sans !== null && peer) {
        if (!clientSans(peer).some((s) => sans.includes(s))) return `could not find allowed SANs in client cert, found: ${sans.join(', ')}`;
      }
      return undefined;
    },
  };
}

/** A certificate's SAN values as Go lists them: DNS names, e-mail addresses, IPs, URIs. */
function clientSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .map((s) => /^(?:DNS|email|IP Address|URI):(.*)$/.exec(s)?.[1])
    .filter((s): s is string => s !== undefined);
}
