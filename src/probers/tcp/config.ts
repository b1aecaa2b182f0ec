// The tcp prober's module section (modules.<name>.tcp): blackbox_exporter's TCPProbe keys with
// query_response steps, plus sonde's reset_on_close; and the HOST:PORT shape of its targets.
import { isIP } from 'node:net';
import { defaultTCP } from '../../config/defaults';
import { bool, list, regex, str, struct } from '../../config/schema';
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

const queryResponse = struct<QueryResponse>({
  fields: { expect: regex(), send: str(), starttls: bool(), labels: list(labelPair) },
  defaults: () => ({ starttls: false, labels: [] }),
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
