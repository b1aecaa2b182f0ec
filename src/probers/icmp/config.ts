// The icmp prober's module section (modules.<name>.icmp): blackbox_exporter's ICMPProbe keys plus
// sonde's SmokePing-style rounds (pings, interval).
import { defaultICMP } from '../../config/defaults';
import { bool, duration, int, struct } from '../../config/schema';
import { ipProtocol, sourceIP } from '../../config/schema_shared';
import type { ICMPModule } from '../../config/types';
import type { ModuleSection } from '../descriptor';
import { dnsResolverSection } from '../dns/resolver_config';

const icmpModule = struct<ICMPModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    dns_resolver: dnsResolverSection,
    source_ip_address: sourceIP,
    payload_size: int(0, 65500),
    dont_fragment: bool(),
    ttl: int(0, 255),
    pings: int(1, 1000),
    interval: duration({ positive: true }),
  },
  defaults: defaultICMP,
});

export const icmpSection: ModuleSection<'icmp'> = { decode: icmpModule, defaults: defaultICMP };
