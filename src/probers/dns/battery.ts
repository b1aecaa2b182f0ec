// `sonde dns-health`'s battery for one server: plain queries over UDP and TCP, EDNS compliance as the
// DNS Flag Day / ISC EDNS compliance tests check it (EDNS0 answered with an OPT record, BADVERS to
// EDNS version 1, an unknown option ignored, RFC 6891 sections 6.1.3 and 6.1.2), client subnet,
// the DO bit, and DoT / DoH where asked; then the health score (health_score.ts).
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { defaultDNS } from '../../config/defaults';
import type { TLSConfig } from '../../config/types';
import type { Runtime } from '../../runtime';
import { classifyError } from '../errors';
import { resolveTarget } from '../resolve';
import { dnsTLSOptions } from './tls_context';
import { RCODE_CODES, rcodeName, TYPE_CODES } from './codes';
import { dohExchange } from './doh';
import { undici } from '../../util/heavy';
import { udpExchange, type Answer, type Endpoint } from './exchange';
import { streamExchange } from './stream';
import { healthScore } from './health_score';
import { matcher, udpAnswerLimit } from './query';
import { parseDNSTarget } from './target';
import { udpPoolOf } from './udp_pool';
import { encodeQuery, type EDNSQuery, type Message, type Query } from './wire';

export interface BatteryOptions {
  name: string;
  type: string;
  timeoutSeconds: number;
  /** run the DoT and DoH checks */
  encrypted: boolean;
  dotPort: number;
  dohPort: number;
  tls: TLSConfig;
  runtime: Runtime;
}

export interface CheckResult {
  check: 'udp' | 'tcp' | 'edns0' | 'edns1' | 'edns_unknown_option' | 'ecs' | 'do' | 'dot' | 'doh';
  ok: boolean;
  detail: string;
  seconds?: number;
}

export interface ServerHealth {
  server: string;
  address?: string;
  score: number;
  checks: CheckResult[];
  /** the ECS scope prefix returned, when the server returned one */
  ecsScope?: number;
  /** the AD bit of the answer to the DO query */
  ad?: boolean;
}

const UNKNOWN_OPTION = 100; // unassigned in IANA's EDNS0 option codes
// BADVERS shares 16 with TSIG's BADSIG (RFC 6891 section 9); in an answer to an OPT query it means BADVERS.
const BADVERS = RCODE_CODES.BADSIG;
const ANSWERED = new Set([RCODE_CODES.NOERROR, RCODE_CODES.NXDOMAIN]);
const ECS_PROBE = { family: 4 as const, address: Buffer.from([192, 0, 2, 0]), sourcePrefix: 24 };

type Transport = 'udp' | 'tcp' | 'tls' | 'https';

async function exchange(o: BatteryOptions, ep: Endpoint, host: string, transport: Transport, edns?: EDNSQuery): Promise<{ msg: Message; seconds: number }> {
  const q: Query = { id: randomInt(0, 65536), name: o.name, type: TYPE_CODES[o.type] ?? TYPE_CODES.SOA, qclass: 1, recursionDesired: true, edns };
  const signal = AbortSignal.timeout(Math.max(1, Math.round(o.timeoutSeconds * 1000)));
  // DoH's undici loads at its first use (src/util/heavy.ts): before the clock, not in the latency scored.
  if (transport === 'https') undici();
  const start = performance.now();
  let a: Answer;
  if (transport === 'udp') a = await udpExchange(ep, encodeQuery(q), matcher(q), udpAnswerLimit(q), signal, undefined, udpPoolOf(o.runtime));
  else if (transport === 'https') {
    const dns = { ...defaultDNS(), dns_over_https: true, tls_config: o.tls };
    a = await dohExchange({ ...ep, port: o.dohPort }, host, dns, encodeQuery(q), matcher(q), signal);
  } else {
    const tlsOpts = transport === 'tls' ? await dnsTLSOptions(o.tls, host) : undefined;
    a = await streamExchange({ ep: transport === 'tls' ? { ...ep, port: o.dotPort } : ep, query: encodeQuery(q), match: matcher(q), signal, flows: undefined, tlsOpts });
  }
  return { msg: a.msg, seconds: (performance.now() - start) / 1000 };
}

type Judge = (m: Message) => { ok: boolean; detail: string };

/** The rcode's name, BADVERS for 16 in an answer with an OPT record. */
function rcodeOf(m: Message): string {
  return m.rcode === BADVERS && m.edns ? 'BADVERS' : rcodeName(m.rcode);
}

const answered: Judge = (m) => ({ ok: ANSWERED.has(m.rcode), detail: `${rcodeOf(m)}, ${m.answers.length} answer(s)` });

const CHECKS: Array<{ check: CheckResult['check']; transport: Transport; edns?: EDNSQuery; judge: Judge; encrypted?: boolean }> = [
  { check: 'udp', transport: 'udp', judge: answered },
  { check: 'tcp', transport: 'tcp', judge: answered },
  {
    check: 'edns0',
    transport: 'udp',
    edns: { payloadSize: 1232, dnssecOk: false, nsid: false },
    judge: (m) => ({ ok: ANSWERED.has(m.rcode) && m.edns?.version === 0, detail: m.edns ? `${rcodeOf(m)}, OPT version ${m.edns.version}, payload ${m.edns.payloadSize}` : `${rcodeOf(m)} without an OPT record` }),
  },
  {
    check: 'edns1',
    transport: 'udp',
    edns: { payloadSize: 1232, dnssecOk: false, nsid: false, version: 1 },
    judge: (m) => ({ ok: m.rcode === BADVERS && m.edns?.version === 0, detail: `${rcodeOf(m)}${m.edns ? `, OPT version ${m.edns.version}` : ', no OPT record'} (want BADVERS, version 0)` }),
  },
  {
    check: 'edns_unknown_option',
    transport: 'udp',
    edns: { payloadSize: 1232, dnssecOk: false, nsid: false, rawOptions: [{ code: UNKNOWN_OPTION, data: Buffer.alloc(0) }] },
    judge: (m) => {
      const echoed = m.edns?.options.includes(UNKNOWN_OPTION) ?? false;
      return { ok: ANSWERED.has(m.rcode) && m.edns !== undefined && !echoed, detail: `${rcodeOf(m)}${echoed ? ', the unknown option echoed' : ''}${m.edns ? '' : ', no OPT record'}` };
    },
  },
  {
    check: 'ecs',
    transport: 'udp',
    edns: { payloadSize: 1232, dnssecOk: false, nsid: false, clientSubnet: ECS_PROBE },
    judge: (m) => ({ ok: ANSWERED.has(m.rcode), detail: m.edns?.clientSubnet ? `scope /${m.edns.clientSubnet.scopePrefix}` : 'no ECS option in the answer' }),
  },
  {
    check: 'do',
    transport: 'udp',
    edns: { payloadSize: 1232, dnssecOk: true, nsid: false },
    judge: (m) => ({ ok: ANSWERED.has(m.rcode), detail: `AD ${m.ad ? 1 : 0}, RRSIG ${[...m.answers, ...m.authorities].some((r) => r.type === TYPE_CODES.RRSIG) ? 'present' : 'absent'}` }),
  },
  { check: 'dot', transport: 'tls', judge: answered, encrypted: true },
  { check: 'doh', transport: 'https', judge: answered, encrypted: true },
];

function share(checks: CheckResult[], names: ReadonlyArray<CheckResult['check']>): number | undefined {
  const some = checks.filter((c) => names.includes(c.check));
  return some.length === 0 ? undefined : some.filter((c) => c.ok).length / some.length;
}

function p95(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)];
}

export async function runBattery(server: string, o: BatteryOptions): Promise<ServerHealth> {
  const out: ServerHealth = { server, score: 0, checks: [] };
  let ep: Endpoint;
  let host: string;
  try {
    const t = parseDNSTarget(server, { ...defaultDNS(), query_name: o.name });
    host = t.host;
    const r = await resolveTarget(t.host, 'ip6', true, { signal: AbortSignal.timeout(Math.max(1, Math.round(o.timeoutSeconds * 1000))) });
    ep = { address: r.addresses[0], port: t.port, family: r.family };
    out.address = ep.address;
  } catch (err) {
    out.checks.push({ check: 'udp', ok: false, detail: `cannot probe ${server}: ${classifyError(err).message}` });
    return out;
  }
  const times: number[] = [];
  for (const c of CHECKS) {
    if (c.encrypted && !o.encrypted) continue;
    try {
      const { msg, seconds } = await exchange(o, ep, host, c.transport, c.edns);
      const j = c.judge(msg);
      out.checks.push({ check: c.check, ok: j.ok, detail: j.detail, seconds });
      if (j.ok) times.push(seconds);
      if (c.check === 'ecs') out.ecsScope = msg.edns?.clientSubnet?.scopePrefix;
      if (c.check === 'do') out.ad = msg.ad;
    } catch (err) {
      const { reason, message } = classifyError(err);
      out.checks.push({ check: c.check, ok: false, detail: `${reason}: ${message}` });
    }
  }
  out.score = healthScore({
    answered: share(out.checks, ['udp', 'tcp']) ?? 0,
    p95Latency: p95(times),
    edns: share(out.checks, ['edns0', 'edns1', 'edns_unknown_option']),
    encrypted: share(out.checks, ['dot', 'doh']),
  });
  return out;
}
