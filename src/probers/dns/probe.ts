// The dns prober, as blackbox_exporter's prober/dns.go: resolve the server, send one query (UDP,
// TCP, DoT, or sonde's DoH), check the rcode and the three sections' rules. sonde adds EDNS0, a
// TCP retry of a truncated UDP answer (phase tcp_retry), and the EDNS fallback: an EDNS query
// answered with FORMERR or not at all is asked once more without EDNS, and a server that then
// answers is reported EDNS-broken (dns_edns_broken), never silently fixed.
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { DNSModule, Module } from '../../config/types';
import type { DNSFacts, ProbeResult } from '../../result';
import { classifyError, failResult, ProbeFailure } from '../errors';
import { gated, resolveLocal, resolveTarget, SYSTEM_RESOLVER } from '../resolve';
import { dnsTLSOptions } from './tls_context';
import type { ProbeContext, Prober } from '../types';
import { RCODE_CODES, TYPE_CODES } from './codes';
import { dohExchange } from './doh';
import { udpExchange, type Answer, type Endpoint, type Match } from './exchange';
import { streamExchange, type StreamQuery } from './stream';
import { dnsStreamsOf, keptExchange } from './conns';
import { makeQuery, matcher, udpAnswerLimit } from './query';
import { engineUdpExchange } from './udp_engine';
import { fastPathFor } from '../fast';
import { parseDNSTarget } from './target';
import { TLSSessions, tlsSessionsOf } from './tls_sessions';
import { udpPoolOf } from './udp_pool';
import { checkRcode, checkRRs } from './validate';
import { encodeQuery, type Message } from './wire';
import { undici } from '../../util/heavy';

/**
 * How long one query may take: until a time (the engine's timeout) or, for Node sockets, a signal,
 * made only when asked for (an AbortSignal per probe was a tenth of a UDP probe's cost).
 */
interface Budget {
  until: number;
  signal(): AbortSignal;
}

/** The probe's deadline, whole or, for an EDNS query, its first half, so that silence leaves time to ask again without EDNS. */
class Deadline {
  constructor(private readonly ctx: ProbeContext) {}

  /** whether the probe's own time is up (aborted, or its deadline passed) */
  over(): boolean {
    return (this.ctx.aborted ?? this.ctx.signal.aborted) || performance.now() >= this.ctx.deadline - 1;
  }

  full(): Budget {
    return { until: this.ctx.deadline, signal: () => this.ctx.signal };
  }

  half(): Budget {
    const until = performance.now() + Math.max(1, (this.ctx.deadline - performance.now()) / 2);
    return { until, signal: () => AbortSignal.any([this.ctx.signal, AbortSignal.timeout(Math.max(1, Math.floor(until - performance.now())))]) };
  }
}

type Transport = DNSFacts['transport'];

function transportOf(dns: DNSModule): Transport {
  if (dns.dns_over_https) return 'https';
  if (dns.dns_over_tls) return 'tls';
  return dns.transport_protocol;
}

interface Ask {
  ep: Endpoint;
  host: string;
  dns: DNSModule;
  name: string;
  ctx: ProbeContext;
  result: ProbeResult;
}

/** One query over `transport`; `phase` gets the elapsed time (connect/request split for the primary one). */
async function ask(a: Ask, transport: Transport, withEDNS: boolean, budget: Budget, phase?: string): Promise<Answer> {
  const q = makeQuery(a.dns, a.name, withEDNS);
  const wire = encodeQuery(q);
  const match = matcher(q);
  const start = performance.now();
  try {
    let answer: Answer;
    if (transport === 'udp') {
      const { runtime, flows } = a.ctx;
      // A zoned (link-local) server stays on Node sockets, which take the zone with the address.
      answer = fastPathFor(runtime, flows) && !a.ep.address.includes('%')
        ? await engineUdpExchange(a.ep, wire, match, udpAnswerLimit(q), budget.until, { stream: runtime.stream, flows, owner: a.ctx })
        : await udpExchange(a.ep, wire, match, udpAnswerLimit(q), budget.signal(), flows, udpPoolOf(runtime));
    } else if (transport === 'https') {
      const doh = await dohExchange(a.ep, a.host, a.dns, wire, match, budget.signal());
      (a.result.dns as DNSFacts).httpVersion = doh.httpVersion;
      answer = doh;
    }
    else answer = await streamAsk(a, transport, wire, match, budget.signal());
    if (phase) a.result.phases[phase] = (performance.now() - start) / 1000;
    else {
      a.result.phases.connect = answer.connect;
      a.result.phases.request = answer.request;
    }
    if (answer.tls) a.result.tls = answer.tls;
    return answer;
  } catch (err) {
    // blackbox: connect is the whole time minus the exchange's rtt, which is 0 when the exchange failed.
    a.result.phases[phase ?? 'connect'] = (performance.now() - start) / 1000;
    if (!phase) a.result.phases.request = 0;
    throw err;
  }
}

/** A query over TCP or DoT: on a connection of its own, or on a kept one (reuse_connections). */
async function streamAsk(a: Ask, transport: Transport, wire: Buffer, match: Match, signal: AbortSignal): Promise<Answer> {
  const tlsOpts = transport === 'tls' ? await dnsTLSOptions(a.dns.tls_config, a.host) : undefined;
  const session = tlsOpts && a.dns.tls_resume ? sessionFor(a) : undefined;
  const facts = a.result.dns as DNSFacts;
  const q: StreamQuery = { ep: a.ep, query: wire, match, signal, flows: a.ctx.flows, tlsOpts, session };
  let answer: Answer;
  if (a.dns.reuse_connections) {
    const key = `${transport}|${a.ep.source ?? ''}|${TLSSessions.key(a.ep.address, a.ep.port, a.dns.tls_config, a.host)}`;
    const kept = await keptExchange(dnsStreamsOf(a.ctx.runtime), key, q);
    facts.connectionReused = kept.reused;
    answer = kept;
  } else answer = await streamExchange(q);
  if (answer.tlsResumed !== undefined && !facts.connectionReused) facts.tlsResumed = answer.tlsResumed;
  return answer;
}

function sessionFor(a: Ask): { offer?: Buffer; keep(ticket: Buffer): void } {
  const sessions = tlsSessionsOf(a.ctx.runtime);
  const key = TLSSessions.key(a.ep.address, a.ep.port, a.dns.tls_config, a.host);
  return { offer: sessions.get(key), keep: (ticket) => sessions.set(key, ticket) };
}

function record(facts: DNSFacts, msg: Message, dns: DNSModule): void {
  facts.querySucceeded = true;
  facts.answerRRs = msg.answers.length;
  facts.authorityRRs = msg.authorities.length;
  facts.additionalRRs = msg.additionals.length;
  facts.rcode = msg.rcode;
  facts.flags = { aa: msg.aa, tc: msg.tc, ra: msg.ra, ad: msg.ad, cd: msg.cd };
  facts.ednsPayloadSize = msg.edns?.payloadSize;
  facts.ecsScope = msg.edns?.clientSubnet?.scopePrefix;
  facts.nsid = msg.edns?.nsid?.toString('hex');
  facts.serverCookie = msg.edns?.cookie !== undefined ? msg.edns.cookie.length > 8 : undefined;
  facts.rrsig = [...msg.answers, ...msg.authorities].some((rr) => rr.type === TYPE_CODES.RRSIG);
  facts.serial = undefined;
  if (dns.query_type === 'SOA') {
    // blackbox sets the gauge from every SOA of the answer: the last one wins.
    for (const rr of msg.answers) if (rr.type === TYPE_CODES.SOA) facts.serial = Number((rr.data as { serial: number }).serial);
  }
}

async function probe(target: string, dns: DNSModule, ctx: ProbeContext, result: ProbeResult, deadline: Deadline): Promise<void> {
  const facts = result.dns as DNSFacts;
  const t = parseDNSTarget(target, dns);
  facts.queryName = t.queryName;
  if (dns.source_ip_address !== undefined && !isIP(dns.source_ip_address)) {
    throw new ProbeFailure('config', `source_ip_address ${dns.source_ip_address} is not an IP address`);
  }
  const lookupStart = performance.now();
  const resolver = gated(SYSTEM_RESOLVER, ctx.gate);
  try {
    const resolved =
      resolveLocal(t.host, dns.preferred_ip_protocol, dns.ip_protocol_fallback, resolver) ??
      (await resolveTarget(t.host, dns.preferred_ip_protocol, dns.ip_protocol_fallback, ctx, resolver));
    result.address = resolved.addresses[0];
    result.ipProtocol = resolved.family;
  } finally {
    result.dnsLookupSeconds = (performance.now() - lookupStart) / 1000;
    result.phases.resolve = result.dnsLookupSeconds;
  }
  const a: Ask = { ep: { address: result.address, port: t.port, family: result.ipProtocol, source: dns.source_ip_address }, host: t.host, dns, name: t.queryName, ctx, result };
  const transport = transportOf(dns);
  let answer: Answer | undefined;
  let ednsFailure: string | undefined;
  if (dns.edns) {
    try {
      answer = await ask(a, transport, true, deadline.half());
      if ((answer.msg.rcode & 0xf) === RCODE_CODES.FORMERR) ednsFailure = 'answered FORMERR to the EDNS query';
    } catch (err) {
      // Silence: the half-time signal expired while the probe's own deadline did not.
      if (!(err instanceof ProbeFailure && err.reason === 'dns_timeout') || deadline.over()) throw err;
      ednsFailure = 'did not answer the EDNS query';
    }
    if (ednsFailure || !answer) answer = await ask(a, transport, false, deadline.full(), 'edns_retry');
  } else {
    answer = await ask(a, transport, false, deadline.full());
  }
  record(facts, answer.msg, dns);
  if (answer.msg.tc && transport === 'udp' && dns.tcp_on_truncation) {
    facts.tcpRetry = true;
    try {
      answer = await ask(a, 'tcp', !ednsFailure && dns.edns !== undefined, deadline.full(), 'tcp_retry');
    } catch (err) {
      const { message } = classifyError(err);
      throw new ProbeFailure('dns_truncated', `the UDP answer was truncated and the TCP retry failed: ${message}`);
    }
    record(facts, answer.msg, dns);
  }
  if (ednsFailure) {
    facts.ednsBroken = true;
    throw new ProbeFailure('dns_edns_broken', `${result.address}:${t.port} ${ednsFailure}, and answered without EDNS (rcode ${answer.msg.rcode})`);
  }
  const bad = checkRcode(answer.msg.rcode, dns.valid_rcodes);
  if (bad) throw new ProbeFailure('dns_rcode', bad);
  const invalid =
    checkRRs(answer.msg.answers, dns.validate_answer_rrs, 'answer') ??
    checkRRs(answer.msg.authorities, dns.validate_authority_rrs, 'authority') ??
    checkRRs(answer.msg.additionals, dns.validate_additional_rrs, 'additional');
  if (invalid) throw new ProbeFailure('dns_validation', invalid);
}

export function emptyDNSFacts(dns: DNSModule): DNSFacts {
  return { transport: transportOf(dns), queryName: dns.query_name, queryType: dns.query_type, querySucceeded: false, answerRRs: 0, authorityRRs: 0, additionalRRs: 0, rrsig: false, ednsBroken: false, tcpRetry: false };
}

export const probeDNS: Prober = async (target: string, module: Module, ctx: ProbeContext) => {
  // The packages this probe will use (src/util/heavy.ts) load before its clock starts: a first
  // probe's phases and duration must not carry their load time.
  if (module.dns.dns_over_https) undici();
  const start = performance.now();
  const result: ProbeResult = {
    target,
    module: module.name,
    prober: 'dns',
    success: false,
    startedAt: Date.now(),
    durationSeconds: 0,
    phases: {},
    dns: emptyDNSFacts(module.dns),
  };
  if (ctx.aborted ?? ctx.signal.aborted) {
    return { ...result, reason: 'timeout', message: 'the probe was cancelled before it started' };
  }
  const deadline = new Deadline(ctx);
  try {
    await probe(target, module.dns, ctx, result, deadline);
    result.success = true;
  } catch (err) {
    failResult(result, err);
  } finally {
    result.durationSeconds = (performance.now() - start) / 1000;
  }
  return result;
};
