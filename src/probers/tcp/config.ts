// The tcp prober's module section (modules.<name>.tcp): blackbox_exporter's TCPProbe keys with
// query_response steps, plus sonde's reset_on_close; and the HOST:PORT shape of its targets.
import { isIP } from 'node:net';
import { defaultTCP } from '../../config/defaults';
import { isScalar, type Node } from 'yaml';
import { bool, exclusive, isNull, list, regex, scalarText, shown, str, struct, type Decoder } from '../../config/schema';
import { ipProtocol, sourceIP, tlsConfig } from '../../config/schema_shared';
import { isHost, labelName } from '../../config/schema_values';
import type { QueryResponse, TCPModule } from '../../config/types';
import type { ModuleSection } from '../descriptor';
import { dnsResolverSection } from '../dns/resolver_config';

const labelPair = struct<{ name: string; value: string }>({
  fields: { name: labelName, value: str() },
  defaults: () => ({ name: '', value: '' }),
  required: ['name', 'value'],
});

/** A scalar's bytes: a `!!binary` value decoded (yaml.v3 does so into a string field), else its UTF-8. */
function scalarBytes(node: Node | null): Buffer | undefined {
  if (isScalar(node) && node.value instanceof Uint8Array) return Buffer.from(node.value);
  const s = scalarText(node);
  return s === undefined ? undefined : Buffer.from(s, 'utf8');
}

const expectBytes: Decoder<Buffer> = (node, path, ctx) => {
  if (isNull(node)) return undefined;
  const b = scalarBytes(node);
  if (b === undefined || b.length === 0) ctx.report(node, path, `got ${shown(node)}, expected bytes (a string or a !!binary value)`);
  return b?.length ? b : undefined;
};

/** `send`: text, or a `!!binary` value kept as latin1 characters (one per byte), marked send_binary. */
const sendText: Decoder<string> = (node, path, ctx) => {
  if (isScalar(node) && node.value instanceof Uint8Array) return Buffer.from(node.value).toString('latin1');
  return text(node, path, ctx);
};
const text = str();

/** blackbox's query_response step; a tcp, unix and websocket dialogue are lists of them. */
export const queryResponse = struct<QueryResponse>({
  fields: { expect: regex(), expect_bytes: expectBytes, send: sendText, starttls: bool(), labels: list(labelPair) },
  defaults: () => ({ starttls: false, labels: [] }),
  check: (qr, f, ctx) => {
    if (f.set.has('send')) {
      const { node } = f.at('send');
      qr.send_binary = isScalar(node) && node.value instanceof Uint8Array;
    }
    // blackbox 0.28 QueryResponse.UnmarshalYAML: "expect and expect_bytes are mutually exclusive"
    return exclusive(f, ctx, 'expect', 'expect_bytes');
  },
});

const tcpModule = struct<TCPModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    dns_resolver: dnsResolverSection,
    source_ip_address: sourceIP,
    query_response: list(queryResponse),
    tls: bool(),
    tls_config: tlsConfig,
    reset_on_close: bool(),
  },
  defaults: defaultTCP,
});

export const tcpSection: ModuleSection<'tcp'> = { decode: tcpModule, defaults: defaultTCP };

/** host:port or [v6]:port, as Go's net.SplitHostPort (blackbox's tcp prober requires the port). */
export function checkTCPTarget(t: string): string | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(t);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || !isHost(host) || (m[1] !== undefined && isIP(m[1]) !== 6)) return 'host:port (e.g. "127.0.0.1:22" or "[::1]:22")';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return 'a port from 1 to 65535';
  return undefined;
}
