// A resource record as text, the way github.com/miekg/dns's RR.String() writes it: blackbox_exporter's
// validate_*_rrs regular expressions match that text ("name.\tTTL\tCLASS\tTYPE\trdata"), so the
// same expressions must see the same text here. Types without a presentation below use the
// RFC 3597 section 5 form (\# length hex), as miekg does for types it does not know.
import { className, typeName, TYPE_CODES } from './codes';
import type { RR } from './wire';

function fqdn(name: string): string {
  return name === '.' || name === '' ? '.' : `${name}.`;
}

/** miekg's sprintTxt: each character-string quoted, `"` and `\` escaped, other bytes outside printable ASCII as \DDD. */
function quoted(b: Buffer | string): string {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  let s = '"';
  for (const c of bytes) {
    if (c === 0x22 || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c < 0x20 || c > 0x7e) s += `\\${c.toString().padStart(3, '0')}`;
    else s += String.fromCharCode(c);
  }
  return `${s}"`;
}

/** RRSIG times as YYYYMMDDHHmmSS in UTC (RFC 4034 section 3.2). */
function sigTime(unix: number): string {
  return new Date(unix * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function unknown(raw: Buffer): string {
  return `\\# ${raw.length}${raw.length > 0 ? ` ${raw.toString('hex')}` : ''}`;
}

type Fields = Record<string, unknown>;
const T = TYPE_CODES;

function rdataText(rr: RR): string {
  const d = rr.data as Fields & string & Buffer[];
  switch (rr.type) {
    case T.A:
    case T.AAAA:
      return String(d);
    case T.NS:
    case T.CNAME:
    case T.PTR:
    case T.DNAME:
      return fqdn(String(d));
    case T.MX:
      return `${String(d.preference)} ${fqdn(String(d.exchange))}`;
    case T.SOA:
      return [fqdn(String(d.mname)), fqdn(String(d.rname)), d.serial, d.refresh, d.retry, d.expire, d.minimum].map(String).join(' ');
    case T.TXT:
      return d.map((s) => quoted(s)).join(' ');
    case T.HINFO:
      return `${quoted(String(d.cpu))} ${quoted(String(d.os))}`;
    case T.SRV:
      return `${String(d.priority)} ${String(d.weight)} ${String(d.port)} ${fqdn(String(d.target))}`;
    case T.CAA:
      return `${String(d.flags ?? 0)} ${String(d.tag)} ${quoted(String(d.value))}`;
    case T.DS:
      return `${String(d.keyTag)} ${String(d.algorithm)} ${String(d.digestType)} ${(d.digest as Buffer).toString('hex').toUpperCase()}`;
    case T.DNSKEY:
      return `${String(d.flags)} 3 ${String(d.algorithm)} ${(d.key as Buffer).toString('base64')}`;
    case T.RRSIG:
      return [
        d.typeCovered,
        d.algorithm,
        d.labels,
        d.originalTTL,
        sigTime(Number(d.expiration)),
        sigTime(Number(d.inception)),
        d.keyTag,
        fqdn(String(d.signersName)),
        (d.signature as Buffer).toString('base64'),
      ]
        .map(String)
        .join(' ');
    case T.NSEC:
      return [fqdn(String(d.nextDomain)), ...(d.rrtypes as string[])].join(' ');
    default:
      return unknown(rr.raw);
  }
}

/** One record as miekg's RR.String() prints it (the OPT pseudo-record as its dig-like section). */
export function rrText(rr: RR): string {
  if (rr.type === T.OPT) {
    const v = (rr.ttl >>> 16) & 0xff;
    const flags = (rr.ttl & 0x8000) !== 0 ? ' do' : '';
    return `\n;; OPT PSEUDOSECTION:\n; EDNS: version ${v}; flags:${flags}; udp: ${rr.qclass}`;
  }
  return `${fqdn(rr.name)}\t${rr.ttl}\t${className(rr.qclass)}\t${typeName(rr.type)}\t${rdataText(rr)}`;
}
