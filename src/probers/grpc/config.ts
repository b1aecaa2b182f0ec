// The grpc prober's module section (modules.<name>.grpc): blackbox_exporter's GRPCProbe keys, and
// the target shape (host:port, or a URL whose host and port are taken, as blackbox's ProbeGRPC).
import { defaultGRPC } from '../../config/defaults';
import { isScalar } from 'yaml';
import { bool, list, record, str, struct, type Decoder } from '../../config/schema';
import { ipProtocol, tlsConfig } from '../../config/schema_shared';
import { isHost } from '../../config/schema_values';
import type { GRPCModule } from '../../config/types';
import type { ModuleSection } from '../descriptor';

// gRPC metadata keys: lower-case ASCII letters, digits, '-', '_' and '.' (gRPC over HTTP/2 spec).
const METADATA_KEY = /^[0-9a-z_.-]+$/;
const one = str();
const many = list(str());
/** metadata.MD is map[string][]string; a single string is taken as one value. */
const values: Decoder<string[]> = (node, path, ctx) => {
  if (!isScalar(node)) return many(node, path, ctx);
  const s = one(node, path, ctx);
  return s === undefined ? undefined : [s];
};
const metadata = record(values, (key, keyNode, path, ctx) => {
  if (METADATA_KEY.test(key.toLowerCase())) return true;
  ctx.report(keyNode, path, `got ${JSON.stringify(key)}, expected a gRPC metadata key (letters, digits, '-', '_', '.')`);
  return false;
});

const grpcModule = struct<GRPCModule>({
  fields: { service: str(), metadata, preferred_ip_protocol: ipProtocol, ip_protocol_fallback: bool(), tls: bool(), tls_config: tlsConfig },
  defaults: defaultGRPC,
});

export const grpcSection: ModuleSection<'grpc'> = { decode: grpcModule, defaults: defaultGRPC };

/** host[:port] or an http(s):// URL, as blackbox's ProbeGRPC parses targets. */
export function checkGRPCTarget(t: string): string | undefined {
  const expected = 'host[:port] or an http(s):// URL of a gRPC server';
  const withScheme = t.startsWith('http://') || t.startsWith('https://') ? t : `http://${t}`;
  try {
    const u = new URL(withScheme);
    return u.hostname !== '' && isHost(u.hostname.replace(/^\[(.*)\]$/, '$1')) ? undefined : expected;
  } catch {
    return expected;
  }
}
