// The dns prober's module section (modules.<name>.dns): blackbox_exporter's DNSProbe keys, plus
// sonde's: edns (payload size, DO, NSID, cookie, client subnet), dns_over_https with doh_method and
// doh_path, tcp_on_truncation. query_name may be left out when targets name it (NAME@server).
import { isIP } from 'node:net';
import { defaultDNS } from '../../config/defaults';
import { bool, exclusive, int, list, oneOf, regex, str, struct } from '../../config/schema';
import { ipProtocol, sourceIP, tlsConfig } from '../../config/schema_shared';
import type { DNSEDNS, DNSModule, DNSRRValidator } from '../../config/types';
import type { ModuleSection } from '../descriptor';
import { dohPath } from './resolver_config';

// Names as github.com/miekg/dns spells them (dns.StringToType / StringToClass / StringToRcode).
const DNS_TYPES = [
  'A', 'NS', 'CNAME', 'SOA', 'PTR', 'HINFO', 'MX', 'TXT', 'RP', 'AFSDB', 'SIG', 'KEY', 'AAAA', 'LOC', 'SRV', 'NAPTR', 'KX',
  'CERT', 'DNAME', 'OPT', 'APL', 'DS', 'SSHFP', 'IPSECKEY', 'RRSIG', 'NSEC', 'DNSKEY', 'DHCID', 'NSEC3', 'NSEC3PARAM', 'TLSA',
  'SMIMEA', 'HIP', 'CDS', 'CDNSKEY', 'OPENPGPKEY', 'CSYNC', 'ZONEMD', 'SVCB', 'HTTPS', 'SPF', 'URI', 'CAA', 'TKEY', 'TSIG',
  'IXFR', 'AXFR', 'ANY',
];
const DNS_CLASSES = ['IN', 'CS', 'CH', 'HS', 'NONE', 'ANY'];
const RCODES = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE',
  'BADSIG', 'BADKEY', 'BADTIME', 'BADMODE', 'BADNAME', 'BADALG', 'BADTRUNC', 'BADCOOKIE',
];
const regexList = list(regex());
const rrValidator = struct<DNSRRValidator>({
  fields: {
    fail_if_matches_regexp: regexList,
    fail_if_all_match_regexp: regexList,
    fail_if_not_matches_regexp: regexList,
    fail_if_none_matches_regexp: regexList,
  },
  defaults: () => defaultDNS().validate_answer_rrs,
});

/** ADDRESS/PREFIX with a prefix no longer than the family's address (RFC 7871 section 6). */
function subnetProblem(s: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  const family = m ? isIP(m[1]) : 0;
  if (!m || family === 0) return 'a subnet ADDRESS/PREFIX such as 192.0.2.0/24 or 2001:db8::/56';
  return Number(m[2]) > (family === 4 ? 32 : 128) ? `a prefix of at most ${family === 4 ? 32 : 128} bits` : undefined;
}

const edns = struct<DNSEDNS>({
  fields: {
    udp_payload_size: int(512, 65535),
    dnssec_ok: bool(),
    nsid: bool(),
    cookie: bool(),
    client_subnet: str({ check: subnetProblem }),
  },
  // RFC 9715 / DNS Flag Day 2020: 1232 bytes avoids IP fragmentation on any path.
  defaults: () => ({ udp_payload_size: 1232, dnssec_ok: false, nsid: false, cookie: false }),
});

const dnsModule = struct<DNSModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    source_ip_address: sourceIP,
    transport_protocol: oneOf(['udp', 'tcp'] as const),
    dns_over_tls: bool(),
    tls_config: tlsConfig,
    dns_over_https: bool(),
    doh_method: oneOf(['GET', 'POST'] as const),
    doh_path: dohPath,
    tcp_on_truncation: bool(),
    tls_resume: bool(),
    reuse_connections: bool(),
    edns,
    query_name: str({ nonEmpty: true }),
    query_type: oneOf(DNS_TYPES, 'a DNS record type like A, AAAA, MX or ANY'),
    query_class: oneOf(DNS_CLASSES),
    recursion_desired: bool(),
    valid_rcodes: list(oneOf(RCODES, 'a DNS rcode like NOERROR or NXDOMAIN')),
    validate_answer_rrs: rrValidator,
    validate_authority_rrs: rrValidator,
    validate_additional_rrs: rrValidator,
  },
  defaults: defaultDNS,
  check: (v, f, ctx) => {
    if (!exclusive(f, ctx, 'dns_over_tls', 'dns_over_https')) return false;
    // blackbox fails every probe of such a module ("Expected transport protocol tcp for DoT"); sonde says so at load.
    if (v.dns_over_tls && v.transport_protocol !== 'tcp') {
      const { path, node } = f.at('transport_protocol');
      ctx.report(node, path, `got ${v.transport_protocol}, expected tcp with dns_over_tls (DNS over TLS runs on TCP)`);
      return false;
    }
    if (v.reuse_connections && (v.dns_over_https || v.transport_protocol !== 'tcp')) {
      const { path, node } = f.at('reuse_connections');
      ctx.report(node, path, `keeps TCP and DoT connections open between probes, and this module asks over ${v.dns_over_https ? 'DoH' : 'udp'}: set transport_protocol: tcp (with or without dns_over_tls), or drop reuse_connections`);
      return false;
    }
    return true;
  },
});

// blackbox requires query_name ("query name must be set for DNS module"); sonde also takes it from
// the target (NAME@server), and a probe of a target without one fails with reason config.
export const dnsSection: ModuleSection<'dns'> = { decode: dnsModule, defaults: defaultDNS };
