// DNS server health over a rolling window, for the servers the daemon's dns probes ask (tasks and
// /probe alike): success rate, p50/p95 latency, EDNS failure rate, ECS adoption, DoT/DoH handshake
// success, DNSSEC AD, and the composite score of src/probers/dns/health_score.ts (README "DNS
// server health"). Servers are keyed by the server part of the target, as written, and transport.
// Samples are a small ring per server in typed arrays; a server with no sample left in the window
// is forgotten. Pure: the clock is passed in.
import type { Module } from '../config/types';
import { healthScore } from '../probers/dns/health_score';
import type { FailureReason, ProbeResult } from '../result';

const ANSWERED = 1; // NOERROR or NXDOMAIN: the server did its job
const EDNS_ASKED = 2;
const EDNS_BROKEN = 4;
const ECS_ASKED = 8;
const ECS_SCOPED = 16;
const DO_ASKED = 32;
const AD = 64;
const ENCRYPTED = 128;
const HANDSHAKE_OK = 256;
const HANDSHAKE_UNKNOWN = 512;
const UNDETERMINED: ReadonlySet<FailureReason> = new Set<FailureReason>(['timeout', 'cancelled', 'shed']);

// Failures that happen before a DoT/DoH session exists: the handshake did not succeed. A timeout
// or a cancelled probe says nothing of the handshake (either side of it): such a sample is left
// out of the handshake ratio.
const BEFORE_SESSION: ReadonlySet<FailureReason> = new Set<FailureReason>([
  'connect_timeout', 'refused', 'reset', 'unreachable', 'network_error', 'tls_handshake',
  'cert_expired', 'cert_not_yet_valid', 'cert_hostname', 'cert_untrusted', 'dns_nxdomain', 'dns_error', 'local_resources',
]);

export interface DNSServerWindowOptions {
  /** how far back a sample counts, ms; default 5 minutes */
  windowMs?: number;
  /** samples kept per server (the oldest go first); default 1024 */
  perServer?: number;
  /** servers kept at once (the one seen longest ago goes first); default 10,000 */
  maxServers?: number;
}

/** What a window says about one server (ratios are undefined when nothing in the window asked it). */
export interface DNSServerStats {
  server: string;
  transport: string;
  probes: number;
  successRatio: number;
  p50?: number;
  p95?: number;
  ednsFailureRatio?: number;
  ecsAdoptionRatio?: number;
  handshakeSuccessRatio?: number;
  dnssecADRatio?: number;
  score: number;
}

class Ring {
  at: Float64Array;
  flags: Uint16Array;
  latency: Float64Array;
  /** next write position; count of samples held */
  next = 0;
  count = 0;
  lastAt = 0;
  constructor(
    readonly server: string,
    readonly transport: string,
    size: number,
  ) {
    this.at = new Float64Array(size);
    this.flags = new Uint16Array(size);
    this.latency = new Float64Array(size);
  }
  push(at: number, flags: number, latency: number): void {
    this.at[this.next] = at;
    this.flags[this.next] = flags;
    this.latency[this.next] = latency;
    this.next = (this.next + 1) % this.at.length;
    if (this.count < this.at.length) this.count++;
    this.lastAt = at;
  }
}

/** The server part of a dns target ([NAME@]SERVER). */
export function dnsServerOf(target: string): string {
  const at = target.lastIndexOf('@');
  return at >= 0 ? target.slice(at + 1) : target;
}

/** A ratio of two counts, undefined when the denominator is 0. */
function ratio(n: number, d: number): number | undefined {
  return d > 0 ? n / d : undefined;
}

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export class DNSServerWindow {
  private readonly rings = new Map<string, Ring>();
  private readonly windowMs: number;
  private readonly perServer: number;
  private readonly maxServers: number;

  constructor(opts: DNSServerWindowOptions = {}) {
    this.windowMs = opts.windowMs ?? 300_000;
    this.perServer = opts.perServer ?? 1024;
    this.maxServers = opts.maxServers ?? 10_000;
  }

  /** One result of a dns probe; results of other probers are ignored. */
  record(module: Pick<Module, 'prober' | 'dns'>, result: ProbeResult): void {
    if (module.prober !== 'dns') return;
    const dns = result.dns;
    const transport = dns?.transport ?? (module.dns.dns_over_https ? 'https' : module.dns.dns_over_tls ? 'tls' : module.dns.transport_protocol);
    const server = dnsServerOf(result.target);
    const key = `${transport}\u0000${server}`;
    let ring = this.rings.get(key);
    if (ring === undefined) {
      if (this.rings.size >= this.maxServers) this.evictOldest();
      ring = new Ring(server, transport, this.perServer);
      this.rings.set(key, ring);
    }
    const edns = module.dns.edns;
    let flags = 0;
    if (dns?.querySucceeded && (dns.rcode === 0 || dns.rcode === 3)) flags |= ANSWERED;
    if (edns) flags |= EDNS_ASKED;
    if (dns?.ednsBroken) flags |= EDNS_BROKEN;
    if (edns?.client_subnet !== undefined) flags |= ECS_ASKED;
    if (dns?.ecsScope !== undefined) flags |= ECS_SCOPED;
    if (edns?.dnssec_ok) flags |= DO_ASKED;
    if (dns?.flags?.ad) flags |= AD;
    if (transport === 'tls' || transport === 'https') {
      flags |= ENCRYPTED;
      if (result.success || dns?.querySucceeded) flags |= HANDSHAKE_OK;
      else if (result.reason === undefined || UNDETERMINED.has(result.reason)) flags |= HANDSHAKE_UNKNOWN;
      else if (!BEFORE_SESSION.has(result.reason)) flags |= HANDSHAKE_OK;
    }
    // The server's time: the whole probe but the lookup of the server's own name.
    const latency = Math.max(0, result.durationSeconds - (result.phases.resolve ?? 0));
    ring.push(result.startedAt + result.durationSeconds * 1000, flags, latency);
  }

  private evictOldest(): void {
    let oldestKey: string | undefined;
    let oldest = Infinity;
    for (const [k, r] of this.rings) {
      if (r.lastAt < oldest) {
        oldest = r.lastAt;
        oldestKey = k;
      }
    }
    if (oldestKey !== undefined) this.rings.delete(oldestKey);
  }

  /** Every server with samples in the window ending at `now` (unix ms); the others are forgotten. */
  stats(now: number): DNSServerStats[] {
    const out: DNSServerStats[] = [];
    const since = now - this.windowMs;
    for (const [key, r] of this.rings) {
      const s = this.summarize(r, since);
      if (s === undefined) this.rings.delete(key);
      else out.push(s);
    }
    return out;
  }

  private summarize(r: Ring, since: number): DNSServerStats | undefined {
    let probes = 0;
    let answered = 0;
    const c = { ednsAsked: 0, ednsBroken: 0, ecsAsked: 0, ecsScoped: 0, doAsked: 0, ad: 0, encrypted: 0, handshakes: 0 };
    const latencies: number[] = [];
    for (let i = 0; i < r.count; i++) {
      if (r.at[i] < since) continue;
      const f = r.flags[i];
      probes++;
      if (f & EDNS_ASKED) {
        c.ednsAsked++;
        if (f & EDNS_BROKEN) c.ednsBroken++;
      }
      if (f & ENCRYPTED && !(f & HANDSHAKE_UNKNOWN)) {
        c.encrypted++;
        if (f & HANDSHAKE_OK) c.handshakes++;
      }
      if (!(f & ANSWERED)) continue;
      answered++;
      latencies.push(r.latency[i]);
      if (f & ECS_ASKED) {
        c.ecsAsked++;
        if (f & ECS_SCOPED) c.ecsScoped++;
      }
      if (f & DO_ASKED) {
        c.doAsked++;
        if (f & AD) c.ad++;
      }
    }
    if (probes === 0) return undefined;
    const sorted = Float64Array.from(latencies).sort();
    const p50 = sorted.length > 0 ? quantile(sorted, 0.5) : undefined;
    const p95 = sorted.length > 0 ? quantile(sorted, 0.95) : undefined;
    const ednsFailureRatio = ratio(c.ednsBroken, c.ednsAsked);
    const handshakeSuccessRatio = ratio(c.handshakes, c.encrypted);
    const successRatio = answered / probes;
    return {
      server: r.server,
      transport: r.transport,
      probes,
      successRatio,
      p50,
      p95,
      ednsFailureRatio,
      ecsAdoptionRatio: ratio(c.ecsScoped, c.ecsAsked),
      handshakeSuccessRatio,
      dnssecADRatio: ratio(c.ad, c.doAsked),
      score: healthScore({
        answered: successRatio,
        p95Latency: p95,
        edns: ednsFailureRatio === undefined ? undefined : 1 - ednsFailureRatio,
        encrypted: handshakeSuccessRatio,
      }),
    };
  }
}
