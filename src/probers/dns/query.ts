// The query a dns module asks, and the check that an answer answers it (id, QR, question, as
// RFC 5452 section 9.1 lists what a resolver must match before it accepts an answer).
import { randomBytes, randomInt } from 'node:crypto';
import type { DNSModule } from '../../config/types';
import { addressBytes } from '../../native/ipaddr';
import { ProbeFailure } from '../errors';
import { CLASS_CODES, RCODE_CODES, TYPE_CODES } from './codes';
import type { Match } from './exchange';
import { decodeMessage, type EDNSQuery, type Query } from './wire';

/** The EDNS part of a module's query, or undefined when the module sends none (blackbox sends none). */
export function ednsOf(dns: DNSModule): EDNSQuery | undefined {
  const e = dns.edns;
  if (!e) return undefined;
  const q: EDNSQuery = { payloadSize: e.udp_payload_size, dnssecOk: e.dnssec_ok, nsid: e.nsid };
  // RFC 7873 section 4: a client cookie is 8 pseudo-random bytes.
  if (e.cookie) q.cookie = randomBytes(8);
  if (e.client_subnet) {
    const [addr, prefix] = e.client_subnet.split('/');
    const { family, bytes } = addressBytes(addr);
    q.clientSubnet = { family, address: Buffer.from(bytes.subarray(0, family === 4 ? 4 : 16)), sourcePrefix: Number(prefix) };
  }
  return q;
}

export function makeQuery(dns: DNSModule, name: string, withEDNS: boolean): Query {
  const type = TYPE_CODES[dns.query_type];
  const qclass = CLASS_CODES[dns.query_class];
  if (type === undefined || qclass === undefined) throw new ProbeFailure('config', `unknown query_type ${dns.query_type} or query_class ${dns.query_class}`);
  return { id: randomInt(0, 65536), name, type, qclass, recursionDesired: dns.recursion_desired, edns: withEDNS ? ednsOf(dns) : undefined };
}

/**
 * The largest UDP answer `q` allows: its EDNS payload size, else 512 (RFC 1035 4.2.1). miekg/dns
 * reads into a buffer of that size, so blackbox fails a larger answer; so does sonde (a server
 * must truncate and set TC instead, RFC 6891 7).
 */
export function udpAnswerLimit(q: Query): number {
  return q.edns ? Math.max(512, q.edns.payloadSize) : 512;
}

/** The failure of an answer of `size` bytes over a limit, or undefined. */
export function oversizedAnswer(size: number, limit: number, what: string): ProbeFailure | undefined {
  if (size <= limit) return undefined;
  return new ProbeFailure('dns_malformed', `the answer ${what} is ${size} bytes, more than the ${limit} the query allows (512, or its EDNS payload size): the server should have truncated it`);
}

function sameName(a: string, b: string): boolean {
  const norm = (n: string) => (n.endsWith('.') && n !== '.' ? n.slice(0, -1) : n).toLowerCase();
  return norm(a) === norm(b);
}

// An error answer may leave the question out (RFC 1035 does not require it to be echoed; many servers drop it on FORMERR).
const ERRORS_WITHOUT_QUESTION = new Set([RCODE_CODES.FORMERR, RCODE_CODES.NOTIMP, RCODE_CODES.SERVFAIL, RCODE_CODES.REFUSED]);

/** The answer check for `q`: another id, a query, or another question is not ours; a malformed message throws. */
export function matcher(q: Query): Match {
  return (raw) => {
    if (raw.length >= 2 && raw.readUInt16BE(0) !== q.id) return undefined;
    const msg = decodeMessage(raw);
    if (!msg.qr) return undefined;
    if (msg.questions.length === 0 && ERRORS_WITHOUT_QUESTION.has(msg.rcode & 0xf)) return msg;
    const question = msg.questions[0];
    if (msg.questions.length !== 1 || !sameName(question.name, q.name) || question.type !== q.type || question.qclass !== q.qclass) return undefined;
    return msg;
  };
}
