// Decoders that several probers' module sections share: tls_config (prometheus/common's TLSConfig,
// inlined as blackbox does), preferred_ip_protocol, source_ip_address and file names. Each
// prober's own section lives in its folder (src/probers/<name>/config.ts).
import { isIP } from 'node:net';
import type { TLSConfig, TLSVersionName } from './types';
import { defaultTLS } from './defaults';
import { bool, exclusive, oneOf, shown, str, struct } from './schema';

export const TLS_VERSIONS = ['TLS10', 'TLS11', 'TLS12', 'TLS13'] as const satisfies readonly TLSVersionName[];

export const ipProtocol = oneOf(['ip4', 'ip6'] as const);
export const sourceIP = str({ check: (s) => (isIP(s) ? undefined : 'an IP address') });
export const file = str({ nonEmpty: true, expected: 'a file name' });

export const tlsConfig = struct<TLSConfig>({
  fields: {
    ca: str(),
    cert: str(),
    key: str(),
    ca_ref: str(),
    cert_ref: str(),
    key_ref: str(),
    ca_file: file,
    cert_file: file,
    key_file: file,
    server_name: str(),
    insecure_skip_verify: bool(),
    min_version: oneOf(TLS_VERSIONS),
    max_version: oneOf(TLS_VERSIONS),
  },
  defaults: defaultTLS,
  check: (t, f, ctx) => {
    let ok = true;
    // prometheus/common TLSConfig.Validate: at most one source per PEM, and a client certificate
    // needs its key and vice versa (whichever source each has).
    for (const what of ['ca', 'cert', 'key']) {
      ok = exclusive(f, ctx, what, `${what}_file`) && ok;
      ok = exclusive(f, ctx, what, `${what}_ref`) && ok;
      ok = exclusive(f, ctx, `${what}_file`, `${what}_ref`) && ok;
    }
    const has = (what: string): boolean => [what, `${what}_file`, `${what}_ref`].some((k) => f.set.has(k));
    for (const [have, needs] of [['cert', 'key'], ['key', 'cert']]) {
      if (has(have) && !has(needs)) {
        const key = [have, `${have}_file`, `${have}_ref`].find((k) => f.set.has(k)) ?? have;
        const { path, node } = f.at(key);
        ctx.report(node, path, `got ${shown(node)}, expected ${needs}_file to be set too`);
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
