// The trace prober's module section (modules.<name>.trace, sonde only: blackbox has no path probing).
import { defaultTrace } from '../../config/defaults';
import { bool, duration, int, oneOf, shown, struct } from '../../config/schema';
import { ipProtocol } from '../../config/schema_shared';
import type { TraceModule } from '../../config/types';
import type { ModuleSection } from '../descriptor';
import { dnsResolverSection } from '../dns/resolver_config';

const traceModule = struct<TraceModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    dns_resolver: dnsResolverSection,
    protocol: oneOf(['icmp', 'udp', 'tcp'] as const),
    port: int(0, 65535),
    first_ttl: int(1, 255),
    max_ttl: int(1, 255),
    rounds: int(1, 100),
    interval: duration({ positive: true }),
    flows: int(1, 64),
    payload_size: int(8, 1400),
  },
  defaults: defaultTrace,
  check: (t, f, ctx) => {
    if (t.max_ttl >= t.first_ttl) return true;
    const { path, node } = f.at('max_ttl');
    ctx.report(node, path, `got ${shown(node)}, expected a TTL not below first_ttl (${t.first_ttl})`);
    return false;
  },
});

export const traceSection: ModuleSection<'trace'> = { decode: traceModule, defaults: defaultTrace };
