// tls_config (Prometheus common's TLSConfig, as blackbox uses it) turned into Node client options,
// and the client handshake over an existing socket (tls: true and STARTTLS alike).
import { promises as fs } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import type * as tls from 'node:tls';
import type { TLSConfig, TLSVersionName } from '../../config/types';
import { ProbeFailure } from '../errors';
import { nodeTLS } from '../../util/heavy';
import { leafOnlyIdentityCheck } from '../tls_facts';

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
 * The PEM material of `cfg`: each of ca, cert and key inline or from its file (read per probe, so a
 * renewed certificate is used at once). The config loader allows one source of each.
 */
export async function tlsMaterial(cfg: TLSConfig): Promise<{ ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string }> {
  const out: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string } = {};
  for (const what of ['ca', 'cert', 'key'] as const) {
    const file = cfg[`${what}_file`];
    const inline = cfg[what];
    if (file) out[what] = await readPem(`${what}_file`, file);
    else if (inline) out[what] = inline;
  }
  if (Boolean(out.cert) !== Boolean(out.key)) throw new ProbeFailure('config', 'tls_config: a client certificate and its key must be set together');
  return out;
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
  Object.assign(opts, await tlsMaterial(cfg));
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
  const socket = nodeTLS().connect({ ...opts, socket: raw });
  leafOnlyIdentityCheck(socket);
  // A late second error (after the handshake promise settled) must not become an uncaught exception.
  socket.on('error', () => undefined);
  const done = new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
    socket.once('close', () => reject(new ProbeFailure('tls_handshake', 'the connection closed during the TLS handshake')));
  });
  return { socket, done };
}
