// Decoders that several probers' module sections share: tls_config (prometheus/common's TLSConfig,
// inlined as blackbox does), preferred_ip_protocol, source_ip_address and file names. Each
// prober's own section lives in its folder (src/probers/<name>/config.ts).
import { isIP } from 'node:net';
import type { TLSConfig, TLSVersionName } from './types';
import { defaultTLS } from './defaults';
import { bool, oneOf, shown, str, struct } from './schema';

export const TLS_VERSIONS = ['TLS10', 'TLS11', 'TLS12', 'TLS13'] as const satisfies readonly TLSVersionName[];

export const ipProtocol = oneOf(['ip4', 'ip6'] as const);
export const sourceIP = str({ check: (s) => (isIP(s) ? undefined : 'an IP address') });
export const file = str({ nonEmpty: true, expected: 'a file name' });

export const tlsConfig = struct<TLSConfig>({
  fields: {
    ca_file: file,
    cert_file: file,
    key_file: file,
    server_name: str(),
    insecure_skip_verify: bool(),
    min_version: oneOf(TLS_VERSIONS),
    max_version: oneOf(TLS_VERSIONS),
  },
  defaults: defaultTLS,
  unsupported: {
    ca: 'inline PEM; use ca_file',
    cert: 'inline PEM; use cert_file',
    key: 'inline PEM; use key_file',
    ca_ref: 'secret references; use ca_file',
    cert_ref: 'secret references; use cert_file',
    key_ref: 'secret references; use key_file',
  },
  check: (t, f, ctx) => {
    let ok = true;
    // prometheus/common TLSConfig.Validate: a client certificate needs its key and vice versa.
    for (const [has, needs] of [['cert_file', 'key_file'], ['key_file', 'cert_file']]) {
      if (f.set.has(has) && !f.set.has(needs)) {
        const { path, node } = f.at(has);
        ctx.report(node, path, `got ${shown(node)}, expected ${needs} to be set too`);
        ok = false;
      }
    }
    if (t.min_version && t.max_version && TLS_VERSIONS.indexOf(t.max_version) < TLS_VERSIONS.indexOf(t.min_version)) {
      const { path, node } = f.at('max_version');
      ctx.report(node, path, `got ${shown(node)}, expected a version not below min_version (${t.min_version})`);
      ok = false;
    }
    return ok;
  },
});
