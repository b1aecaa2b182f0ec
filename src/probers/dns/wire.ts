// DNS messages on the wire (RFC 1035 section 4, EDNS0 of RFC 6891): the query sonde sends, built
// here byte by byte (any type by number, options in a fixed order), and the answer, walked with a
// bounds check before every read. Names (with their compression pointers) and the rdata of known
// types are decoded by dns-packet, each rdata checked to end exactly at its RDLENGTH, so a lying
// count or length is a malformed message and never a read past the end or a desynchronised parse.
import * as packet from 'dns-packet';
import { ProbeFailure } from '../errors';
import { TYPE_CODES } from './codes';

/** EDNS0 of a query: RFC 6891 OPT with the options sonde knows. */
export interface EDNSQuery {
  payloadSize: number;
  dnssecOk: boolean;
  nsid: boolean;
  /** RFC 7873 client cookie (8 bytes) */
  cookie?: Buffer;
  /** RFC 7871 client subnet: the address and how many leading bits of it are sent */
  clientSubnet?: { family: 4 | 6; address: Buffer; sourcePrefix: number };
  /** EDNS version (default 0); `sonde dns-health` asks version 1 to see BADVERS (RFC 6891 section 6.1.3) */
  version?: number;
  /** options sent as given, after the known ones (an unknown code, for the compliance check) */
  rawOptions?: Array<{ code: number; data: Buffer }>;
}

export interface Query {
  id: number;
  name: string;
  type: number;
  qclass: number;
  recursionDesired: boolean;
  edns?: EDNSQuery;
}

export interface RR {
  name: string;
  type: number;
  qclass: number;
  ttl: number;
  /** dns-packet's decoding of the rdata (a Buffer for types it does not know) */
  data: unknown;
  /** the rdata as sent */
  raw: Buffer;
}

export interface EDNSAnswer {
  payloadSize: number;
  version: number;
  dnssecOk: boolean;
  nsid?: Buffer;
  cookie?: Buffer;
  clientSubnet?: { family: number; sourcePrefix: number; scopePrefix: number };
  /** option codes in the order the server sent them */
  options: number[];
}

export interface Message {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  /** 12-bit rcode: the header's 4 bits with the OPT record's 8 extended bits (RFC 6891 section 6.1.3) */
  rcode: number;
  questions: Array<{ name: string; type: number; qclass: number }>;
  answers: RR[];
  authorities: RR[];
  /** additional records as counted by blackbox (miekg keeps the OPT record among them) */
  additionals: RR[];
  edns?: EDNSAnswer;
}

const OPT = TYPE_CODES.OPT;
// dns-packet's name codec (not in its type declarations): follows compression pointers, only backwards.
const NAME = (packet as unknown as { name: { decode: ((buf: Buffer, offset: number) => string) & { bytes: number } } }).name;
const OPTION = { NSID: 3, ECS: 8, COOKIE: 10 } as const;

/** The wire form of a name; refuses what cannot be sent (RFC 1035 section 2.3.4: 63 per label, 255 in all). */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  const parts = trimmed.split('.').map((l) => Buffer.from(l, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + p.length + 1, 1));
  let off = 0;
  for (const p of parts) {
    if (p.length === 0) throw new ProbeFailure('config', `query name ${JSON.stringify(name)} has an empty label`);
    if (p.length > 63) throw new ProbeFailure('config', `query name ${JSON.stringify(name)} has a label longer than 63 bytes`);
    out[off++] = p.length;
    p.copy(out, off);
    off += p.length;
  }
  if (out.length > 255) throw new ProbeFailure('config', `query name ${JSON.stringify(name)} is longer than 255 bytes`);
  return out;
}

function optRecord(e: EDNSQuery): Buffer {
  const options: Buffer[] = [];
  const option = (code: number, data: Buffer) => {
    const b = Buffer.alloc(4 + data.length);
    b.writeUInt16BE(code, 0);
    b.writeUInt16BE(data.length, 2);
    data.copy(b, 4);
    options.push(b);
  };
  if (e.nsid) option(OPTION.NSID, Buffer.alloc(0));
  if (e.clientSubnet) {
    const { family, address, sourcePrefix } = e.clientSubnet;
    // RFC 7871 section 6: ADDRESS is truncated to the prefix, the bits past it zero.
    const bytes = Buffer.from(address.subarray(0, Math.ceil(sourcePrefix / 8)));
    if (sourcePrefix % 8 !== 0) bytes[bytes.length - 1] &= 0xff << (8 - (sourcePrefix % 8));
    const head = Buffer.from([0, family === 4 ? 1 : 2, sourcePrefix, 0]);
    option(OPTION.ECS, Buffer.concat([head, bytes]));
  }
  if (e.cookie) option(OPTION.COOKIE, e.cookie);
  for (const o of e.rawOptions ?? []) option(o.code, o.data);
  const rdata = Buffer.concat(options);
  const rr = Buffer.alloc(11);
  // root name (0), TYPE OPT, CLASS = payload size, TTL = ext-rcode 0, version 0, DO bit, Z.
  rr.writeUInt16BE(OPT, 1);
  rr.writeUInt16BE(e.payloadSize, 3);
  rr[6] = e.version ?? 0;
  rr.writeUInt16BE(e.dnssecOk ? 0x8000 : 0, 7);
  rr.writeUInt16BE(rdata.length, 9);
  return Buffer.concat([rr, rdata]);
}

// The question's bytes (name, type, class) by what they encode: a module asks the same question
// every probe, and splitting and copying its name was a tenth of building the query. Bounded: names
// come from targets, which an operator (or a /probe client) chooses.
const QUESTIONS = new Map<string, Buffer>();
const MAX_QUESTIONS = 4096;

function question(name: string, type: number, qclass: number): Buffer {
  const key = `${type}/${qclass}/${name}`;
  let b = QUESTIONS.get(key);
  if (b === undefined) {
    const wire = encodeName(name); // throws for a name that cannot be sent: never kept
    b = Buffer.alloc(wire.length + 4);
    wire.copy(b, 0);
    b.writeUInt16BE(type, wire.length);
    b.writeUInt16BE(qclass, wire.length + 2);
    if (QUESTIONS.size >= MAX_QUESTIONS) QUESTIONS.clear();
    QUESTIONS.set(key, b);
  }
  return b;
}

export function encodeQuery(q: Query): Buffer {
  const quest = question(q.name, q.type, q.qclass);
  const opt = q.edns ? optRecord(q.edns) : undefined;
  // One buffer, written in place: header (12 bytes), question, then the OPT record if any.
  const out = Buffer.allocUnsafe(12 + quest.length + (opt?.length ?? 0));
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(q.recursionDesired ? 0x0100 : 0, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6); // ANCOUNT, NSCOUNT
  out.writeUInt16BE(opt ? 1 : 0, 10);
  quest.copy(out, 12);
  if (opt) opt.copy(out, 12 + quest.length);
  return out;
}

/** Thrown for a message that cannot be parsed; the prober reports dns_malformed. */
function malformed(why: string): never {
  throw new ProbeFailure('dns_malformed', `malformed DNS message: ${why}`);
}

// The common name, read here: ASCII labels and pointers back into the message, giving what
// dns-packet gives for them (its labels joined by dots, "." for the root; the bytes it consumed).
// Anything else (a byte past 0x7f, a bad label type, a pointer forward, a name too long, the end
// of the message) is left to dns-packet, whose error then is the reason; a third of decoding an
// answer went to its general path. Labels are built a character at a time (they are ASCII): a
// Buffer toString per label was a call into C++ each. The names of a message read so far are
// kept by offset (NAMES_AT): a compression pointer to one (an answer's owner name pointing at
// the question, RFC 1035 section 4.1.4) ends the walk with its text, read once.
let plainNameBytes = 0;
let namesOf: Buffer | undefined;
const NAMES_AT: number[] = [];
const NAMES_TEXT: string[] = [];
/** each kept name's label bytes, as the 254-byte bound counts them */
const NAMES_TOTAL: number[] = [];

function keptName(buf: Buffer, at: number): number {
  if (namesOf !== buf) return -1;
  for (let i = 0; i < NAMES_AT.length; i++) if (NAMES_AT[i] === at) return i;
  return -1;
}

function keepName(buf: Buffer, at: number, text: string, total: number): void {
  if (namesOf !== buf) {
    namesOf = buf;
    NAMES_AT.length = 0;
    NAMES_TEXT.length = 0;
    NAMES_TOTAL.length = 0;
  }
  if (NAMES_AT.length >= 16) return; // a few names per answer; the walk is cheap enough past them
  NAMES_AT.push(at);
  NAMES_TEXT.push(text);
  NAMES_TOTAL.push(total);
}

function plainName(buf: Buffer, start: number): string | undefined {
  let off = start;
  let oldOffset = start;
  let total = 0;
  let consumed = 0;
  let jumped = false;
  let labels = 0;
  let out = '';
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off++];
    if (!jumped) consumed++;
    if (len === 0) break;
    if ((len & 0xc0) === 0) {
      if (off + len > buf.length) return undefined;
      total += len + 1;
      if (total > 254) return undefined;
      if (labels++ > 0) out += '.';
      for (let i = off; i < off + len; i++) {
        const c = buf[i];
        if (c >= 0x80) return undefined;
        out += String.fromCharCode(c);
      }
      off += len;
      if (!jumped) consumed += len;
    } else if ((len & 0xc0) === 0xc0) {
      if (off + 1 > buf.length) return undefined;
      const jump = ((len & 0x3f) << 8) | buf[off];
      if (jump >= oldOffset) return undefined;
      if (!jumped) consumed++;
      const k = keptName(buf, jump);
      if (k >= 0) {
        // The rest of the name is the one read at `jump`: what walking it again would give.
        total += NAMES_TOTAL[k];
        if (total > 254) return undefined;
        const rest = NAMES_TEXT[k];
        if (rest !== '.') {
          out = labels > 0 ? `${out}.${rest}` : rest;
          labels++;
        }
        break;
      }
      off = jump;
      oldOffset = jump;
      jumped = true;
    } else return undefined;
  }
  plainNameBytes = consumed;
  const text = labels === 0 ? '.' : out;
  keepName(buf, start, text, total);
  return text;
}

class Reader {
  off = 12;
  constructor(readonly buf: Buffer) {
    // A buffer may be read again with other bytes in it (a reused one): no name from before counts.
    namesOf = undefined;
  }

  need(n: number, what: string): void {
    if (this.off + n > this.buf.length) malformed(`${what} runs past the end of the message (${this.buf.length} bytes)`);
  }

  name(): string {
    const fast = plainName(this.buf, this.off);
    if (fast !== undefined) {
      this.off += plainNameBytes;
      return fast;
    }
    try {
      const n = NAME.decode(this.buf, this.off);
      this.off += NAME.decode.bytes;
      return n;
    } catch (err) {
      return malformed(`bad name at offset ${this.off}: ${(err as Error).message}`);
    }
  }

  u16(): number {
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
}

// dns-packet's per-type rdata codecs, by the name its own type table uses.
type RdataCodec = { decode(buf: Buffer, offset: number): unknown; bytes?: number };
const CODEC_TYPES = ['A', 'AAAA', 'NS', 'CNAME', 'DNAME', 'PTR', 'MX', 'SOA', 'TXT', 'SRV', 'CAA', 'HINFO', 'DS', 'DNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'TLSA', 'SSHFP', 'NAPTR', 'RP'];
const CODECS = new Map<number, RdataCodec>();
for (const t of CODEC_TYPES) CODECS.set(TYPE_CODES[t], (packet as unknown as { record(t: string): RdataCodec }).record(t));

function rdata(buf: Buffer, off: number, length: number, type: number): unknown {
  const codec = CODECS.get(type);
  if (!codec) return buf.subarray(off + 2, off + 2 + length);
  let data: unknown;
  try {
    data = codec.decode(buf, off);
  } catch (err) {
    return malformed(`bad ${type} rdata at offset ${off}: ${(err as Error).message}`);
  }
  // dns-packet's codecs count the 2 RDLENGTH bytes in what they consumed.
  const used = (codec.decode as unknown as { bytes: number }).bytes;
  if (used !== length + 2) malformed(`type ${type} rdata at offset ${off} is ${used - 2} bytes long but RDLENGTH says ${length}`);
  return data;
}

function edns(rr: RR, ttl: number): EDNSAnswer {
  const e: EDNSAnswer = { payloadSize: rr.qclass, version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0, options: [] };
  const b = rr.raw;
  for (let off = 0; off < b.length; ) {
    if (off + 4 > b.length) malformed('an EDNS option header runs past its OPT record');
    const code = b.readUInt16BE(off);
    const len = b.readUInt16BE(off + 2);
    if (off + 4 + len > b.length) malformed(`EDNS option ${code} runs past its OPT record`);
    const data = b.subarray(off + 4, off + 4 + len);
    e.options.push(code);
    if (code === OPTION.NSID) e.nsid = Buffer.from(data);
    else if (code === OPTION.COOKIE) e.cookie = Buffer.from(data);
    else if (code === OPTION.ECS) {
      if (len < 4) malformed('an ECS option shorter than 4 bytes');
      e.clientSubnet = { family: data.readUInt16BE(0), sourcePrefix: data[2], scopePrefix: data[3] };
    }
    off += 4 + len;
  }
  return e;
}

function section(r: Reader, count: number, what: string): RR[] {
  const out: RR[] = [];
  for (let i = 0; i < count; i++) {
    const name = r.name();
    r.need(10, `${what} record ${i + 1}`);
    const type = r.u16();
    const qclass = r.u16();
    const ttl = r.buf.readUInt32BE(r.off);
    r.off += 4;
    const length = r.buf.readUInt16BE(r.off);
    r.need(2 + length, `the rdata of ${what} record ${i + 1}`);
    const data = type === OPT ? undefined : rdata(r.buf, r.off, length, type);
    out.push({ name, type, qclass, ttl, data, raw: r.buf.subarray(r.off + 2, r.off + 2 + length) });
    r.off += 2 + length;
  }
  return out;
}

/** Parses an answer; throws ProbeFailure dns_malformed for anything short, long or inconsistent. */
export function decodeMessage(buf: Buffer): Message {
  if (buf.length < 12) malformed(`${buf.length} bytes, shorter than a DNS header`);
  const flags = buf.readUInt16BE(2);
  const r = new Reader(buf);
  const questions: Message['questions'] = [];
  const qdcount = buf.readUInt16BE(4);
  for (let i = 0; i < qdcount; i++) {
    const name = r.name();
    r.need(4, `question ${i + 1}`);
    questions.push({ name, type: r.u16(), qclass: r.u16() });
  }
  const answers = section(r, buf.readUInt16BE(6), 'answer');
  const authorities = section(r, buf.readUInt16BE(8), 'authority');
  const additionals = section(r, buf.readUInt16BE(10), 'additional');
  if (r.off !== buf.length) malformed(`${buf.length - r.off} bytes of garbage after the message`);
  const msg: Message = {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    questions,
    answers,
    authorities,
    additionals,
  };
  const opts = additionals.filter((rr) => rr.type === OPT);
  // RFC 6891 section 6.1.1: more than one OPT record is a FORMERR.
  if (opts.length > 1) malformed(`${opts.length} OPT records`);
  if (opts.length === 1) {
    msg.edns = edns(opts[0], opts[0].ttl);
    msg.rcode |= (opts[0].ttl >>> 24) << 4;
  }
  return msg;
}
