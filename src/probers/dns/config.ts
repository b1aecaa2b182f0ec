// The dns prober's module section (modules.<name>.dns): blackbox_exporter's DNSProbe keys. sonde
// cannot run dns probes yet (src/probers/index.ts lists it as known, not available): modules
// naming it decode, so a blackbox config loads, and tasks using them are refused.
import { defaultDNS } from '../../config/defaults';
import { bool, list, oneOf, regex, str, struct } from '../../config/schema';
import { ipProtocol, sourceIP, tlsConfig } from '../../config/schema_shared';
import type { DNSModule, DNSRRValidator } from '../../config/types';
import type { ModuleSection } from '../descriptor';

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

const dnsModule = struct<DNSModule>({
  fields: {
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
    source_ip_address: sourceIP,
    transport_protocol: oneOf(['udp', 'tcp'] as const),
    dns_over_tls: bool(),
    tls_config: tlsConfig,
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
  // blackbox: "query name must be set for DNS module"
  required: ['query_name'],
});

// A dns section brings its own required query_name; a dns module without one cannot probe.
export const dnsSection: ModuleSection<'dns'> = { decode: dnsModule, defaults: defaultDNS, required: 'a dns module needs dns.query_name' };
