// TLS client options for DoT and DoH with one SecureContext per tls_config and server name: building
// a context per probe (reading the CA file, parsing it into a new X509 store) was a third of a DoT
// probe's JS time. Certificates are still verified on every full handshake; a CA file that changes
// is read again when the config is (re)loaded, since a reload makes new tls_config objects.
import * as tls from 'node:tls';
import type { TLSConfig } from '../../config/types';
import { tlsClientOptions } from '../tcp/tls';

const CONTEXTS = new WeakMap<TLSConfig, Map<string, Promise<tls.ConnectionOptions>>>();

async function build(cfg: TLSConfig, host: string): Promise<tls.ConnectionOptions> {
  const o = await tlsClientOptions(cfg, host);
  const secureContext = tls.createSecureContext({ ca: o.ca, cert: o.cert, key: o.key, minVersion: o.minVersion, maxVersion: o.maxVersion, ciphers: o.ciphers });
  return { host: o.host, servername: o.servername, rejectUnauthorized: o.rejectUnauthorized, secureContext };
}

/** tlsClientOptions (shared with the tcp and http probers' tls_config), with its SecureContext kept. */
export function dnsTLSOptions(cfg: TLSConfig, host: string): Promise<tls.ConnectionOptions> {
  let byHost = CONTEXTS.get(cfg);
  if (!byHost) CONTEXTS.set(cfg, (byHost = new Map()));
  let p = byHost.get(host);
  if (!p) {
    p = build(cfg, host);
    // A failure (an unreadable file) is not kept: the next probe tries again and reports it.
    p.catch(() => byHost.delete(host));
    if (byHost.size > 1024) byHost.clear();
    byHost.set(host, p);
  }
  return p;
}
