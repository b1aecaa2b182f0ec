// DNS code points by the names github.com/miekg/dns (blackbox_exporter's library) gives them:
// record types, classes and rcodes (IANA "Domain Name System (DNS) Parameters" registry).

export const TYPE_CODES: Readonly<Record<string, number>> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, RP: 17, AFSDB: 18, SIG: 24, KEY: 25, AAAA: 28,
  LOC: 29, SRV: 33, NAPTR: 35, KX: 36, CERT: 37, DNAME: 39, OPT: 41, APL: 42, DS: 43, SSHFP: 44, IPSECKEY: 45, RRSIG: 46,
  NSEC: 47, DNSKEY: 48, DHCID: 49, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52, SMIMEA: 53, HIP: 55, CDS: 59, CDNSKEY: 60,
  OPENPGPKEY: 61, CSYNC: 62, ZONEMD: 63, SVCB: 64, HTTPS: 65, SPF: 99, TKEY: 249, TSIG: 250, IXFR: 251, AXFR: 252,
  ANY: 255, URI: 256, CAA: 257,
};

export const CLASS_CODES: Readonly<Record<string, number>> = { IN: 1, CS: 2, CH: 3, HS: 4, NONE: 254, ANY: 255 };

/** Rcodes with the extended ones of EDNS (RFC 6891 section 6.1.3: 12 bits, 8 from the OPT record). */
export const RCODE_CODES: Readonly<Record<string, number>> = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8,
  NOTAUTH: 9, NOTZONE: 10, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADMODE: 19, BADNAME: 20, BADALG: 21, BADTRUNC: 22,
  BADCOOKIE: 23,
};

function invert(t: Readonly<Record<string, number>>): Map<number, string> {
  return new Map(Object.entries(t).map(([k, v]) => [v, k]));
}
const TYPE_NAMES = invert(TYPE_CODES);
const CLASS_NAMES = invert(CLASS_CODES);
const RCODE_NAMES = invert(RCODE_CODES);

/** miekg's Type.String(): the mnemonic, or TYPE<n> (RFC 3597 section 5). */
export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

export function className(code: number): string {
  return CLASS_NAMES.get(code) ?? `CLASS${code}`;
}

export function rcodeName(code: number): string {
  return RCODE_NAMES.get(code) ?? `RCODE${code}`;
}
