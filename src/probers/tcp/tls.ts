// tls_config (Prometheus common's TLSConfig, as blackbox uses it) turned into Node client options,
// and the client handshake over an existing socket (tls: true and STARTTLS alike).
import { promises as fs } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import * as tls from 'node:tls';
import type { TLSConfig, TLSVersionName } from '../../config/types';
import { ProbeFailure } from '../errors';

const VERSIONS: Record<TLSVersionName, tls.SecureVersion> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};

async function readPem(field: string, path: string): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    throw new ProbeFailure('config', `tls_config.${field}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * Client options for `cfg`. `host` is the target's host part: blackbox uses it as the server name
 * when server_name is empty, so the certificate is checked against what the user typed, not the
 * resolved address.
 */
export async function tlsClientOptions(cfg: TLSConfig, host: string): Promise<tls.ConnectionOptions> {
  const name = cfg.server_name || host;
  const opts: tls.ConnectionOptions = {
    // Node checks the identity against `host` when handed a ready socket; an IP is matched against
    // the certificate's IP SANs, as Go does.
    host: name,
    // RFC 6066 section 3: SNI carries host names only, never IP literals (Go omits it too).
    servername: isIP(name) ? undefined : name,
    rejectUnauthorized: !cfg.insecure_skip_verify,
  };
  if (cfg.ca_file) opts.ca = await readPem('ca_file', cfg.ca_file);
  if (Boolean(cfg.cert_file) !== Boolean(cfg.key_file)) {
    throw new ProbeFailure('config', 'tls_config.cert_file and tls_config.key_file must be set together');
  }
  if (cfg.cert_file && cfg.key_file) {
    opts.cert = await readPem('cert_file', cfg.cert_file);
    opts.key = await readPem('key_file', cfg.key_file);
  }
  if (cfg.min_version) opts.minVersion = VERSIONS[cfg.min_version];
  if (cfg.max_version) opts.maxVersion = VERSIONS[cfg.max_version];
  // OpenSSL 3's default security level 1 refuses TLS 1.0/1.1 outright; a user who asks for them
  // explicitly (as Go's MinVersion allows) gets them.
  if (opts.minVersion === 'TLSv1' || opts.minVersion === 'TLSv1.1') opts.ciphers = 'DEFAULT:@SECLEVEL=0';
  return opts;
}

/**
 * Runs the client handshake over `raw`. Resolves once the peer is verified (or verification is
 * skipped); rejects with the socket's error, which classifyError maps to tls_handshake / cert_*.
 */
export function handshake(raw: Socket, opts: tls.ConnectionOptions): { socket: tls.TLSSocket; done: Promise<void> } {
  const socket = tls.connect({ ...opts, socket: raw });
  // A late second error (after the handshake promise settled) must not become an uncaught exception.
  socket.on('error', () => undefined);
  const done = new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
    socket.once('close', () => reject(new ProbeFailure('tls_handshake', 'the connection closed during the TLS handshake')));
  });
  return { socket, done };
}
