// probe_policy inside the probe: a DNS server the test runs answers its first query with an allowed
// address (127.0.0.1) and every later one with a denied one (127.0.0.2), so a prober that resolved
// again after the check (rebinding) would reach the server on 127.0.0.2: the probes must reach
// 127.0.0.1, with one query asked. Redirects to denied addresses, ports, names are refused before a
// connection, fail with policy_denied and are counted. Every prober reachable from /probe is pinned:
// those without a dns_resolver (grpc, websocket, dns) are run under a gate pinning `localhost` to
// 127.0.0.2, a name the system would answer locally otherwise (::1, 127.0.0.1: nothing listens there).
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import * as packet from 'dns-packet';
import { WebSocketServer } from 'ws';
import { serveProbe, type ProbeDeps } from '../../src/api/probe_handler';
import { loadConfigString } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { TargetPolicy } from '../../src/policy/check';
import { PolicyGate } from '../../src/policy/gate';
import { runProbe } from '../../src/schedule/run_probe';
import { servingHealthServer } from '../lab/grpc_health';
import { testProbeDeps } from '../lab/probe_deps';
import { testRuntime } from '../runtime';

/** A DNS server on 127.0.0.1 whose A answer for every name is `answers[n]` at its n-th query (the last one after). */
class RebindingDNS {
  readonly queries: string[] = [];
  private readonly sock = dgram.createSocket('udp4');
  port = 0;
  constructor(private readonly answers: string[]) {
    this.sock.on('message', (msg, from) => {
      const q = packet.decode(msg) as packet.Packet & { id: number };
      const question = q.questions?.[0] as packet.Question;
      this.queries.push(`${question.type} ${question.name}`);
      const address = this.answers[Math.min(this.queries.length - 1, this.answers.length - 1)];
      const answers: packet.Answer[] = question.type === 'A' ? [{ type: 'A', name: question.name, ttl: 0, data: address }] : [];
      this.sock.send(packet.encode({ id: q.id, type: 'response', flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE, questions: q.questions, answers }), from.port, from.address);
    });
  }
  async start(): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', r));
    this.port = this.sock.address().port;
  }
  close(): void {
    this.sock.close();
  }
}

/** HTTP servers on 127.0.0.1 and 127.0.0.2 at one port, each recording who reached it. */
const hits: string[] = [];
const servers: net.Server[] = [];
let port = 0;
let redirectTo = '';
function handler(address: string) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    hits.push(`${address} ${req.url}`);
    if (req.url === '/redirect') res.writeHead(302, { location: redirectTo }).end();
    else res.end('ok');
  };
}
async function listenBoth(make: (address: string) => net.Server): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const a = make('127.0.0.1');
    await new Promise<void>((r) => a.listen(0, '127.0.0.1', r));
    const p = (a.address() as net.AddressInfo).port;
    const b = make('127.0.0.2');
    const ok = await new Promise<boolean>((r) => {
      b.once('error', () => r(false));
      b.listen(p, '127.0.0.2', () => r(true));
    });
    if (ok) {
      servers.push(a, b);
      return p;
    }
    a.close();
  }
  throw new Error('no port free on both 127.0.0.1 and 127.0.0.2');
}

let dns: RebindingDNS;
before(async () => {
  port = await listenBoth((address) => http.createServer(handler(address)));
});
after(() => {
  for (const s of servers) s.close();
});

const depsFor = testProbeDeps;

async function probe(deps: ProbeDeps, module: string, target: string): Promise<{ status: number; text: string }> {
  const a = await serveProbe(deps, { module, target, debug: false, hostname: null }, undefined, { client: '127.0.0.1' });
  return { status: a.status, text: a.series ? a.series.metricsSync() : a.body };
}

function config(policy = '  deny: { cidrs: [127.0.0.2/32] }\n'): Config {
  const section = `{ preferred_ip_protocol: ip4, ip_protocol_fallback: false, dns_resolver: { server: '127.0.0.1:${dns.port}' } }`;
  return loadConfigString(
    `modules:
  http: { prober: http, timeout: 10s, http: ${section.replace(/ }$/, ', follow_redirects: true }')} }
  tcp: { prober: tcp, timeout: 10s, tcp: ${section} }
probe_policy:
${policy}`,
    'pin.yml',
  );
}

const REBIND: Array<{ what: string; module: string; target: () => string; want: string }> = [
  { what: 'http (the native fast path or undici)', module: 'http', target: () => `http://rebind.test:${port}/`, want: '127.0.0.1 /' },
  { what: 'tcp', module: 'tcp', target: () => `rebind.test:${port}`, want: '127.0.0.1' },
];

for (const c of REBIND) {
  test(`a name that rebinds after the policy check: ${c.what} connects to the address checked`, async () => {
    dns = new RebindingDNS(['127.0.0.1', '127.0.0.2']);
    await dns.start();
    try {
      hits.length = 0;
      const seen: string[] = [];
      const taps = servers.map((s, i) => {
        const tap = () => seen.push(i % 2 === 0 ? '127.0.0.1' : '127.0.0.2');
        s.on('connection', tap);
        return tap;
      });
      const got = await probe(depsFor(config()), c.module, c.target());
      servers.forEach((s, i) => s.off('connection', taps[i]));
      assert.equal(got.status, 200, got.text);
      assert.match(got.text, /^probe_success 1$/m);
      assert.deepEqual(dns.queries, ['A rebind.test'], 'one query: the check\'s, the prober asked none');
      assert.ok(seen.length > 0 && seen.every((a) => a === '127.0.0.1'), `connections went to ${seen.join(', ')}`);
      if (c.module === 'http') assert.deepEqual(hits, [c.want]);
    } finally {
      dns.close();
    }
  });
}

const REDIRECTS: Array<{ what: string; to: () => string; policy?: string; reason: string }> = [
  { what: 'to a denied address', to: () => `http://127.0.0.2:${port}/`, reason: 'address_denied' },
  { what: 'to a name resolving into a denied network', to: () => `http://other.test:${port}/`, reason: 'address_denied' },
  { what: 'to a denied port of the same host', to: () => `http://127.0.0.1:22/`, policy: '  deny: { ports: [22] }\n', reason: 'port_denied' },
  { what: 'to a denied host name', to: () => `http://evil.test:${port}/`, policy: '  deny: { hosts: ["evil.test"] }\n', reason: 'host_denied' },
  { what: 'outside the allowed networks', to: () => `http://other.test:${port}/`, policy: '  allow: { cidrs: [127.0.0.1/32] }\n', reason: 'not_allowed' },
];

for (const c of REDIRECTS) {
  test(`a redirect ${c.what} is not followed: policy_denied, counted as ${c.reason}`, async () => {
    dns = new RebindingDNS(['127.0.0.2']);
    await dns.start();
    try {
      hits.length = 0;
      redirectTo = c.to();
      const deps = depsFor(config(c.policy));
      const got = await probe(deps, 'http', `http://127.0.0.1:${port}/redirect`);
      assert.equal(got.status, 200, got.text);
      assert.match(got.text, /^probe_success 0$/m);
      assert.match(got.text, /^probe_http_redirects 1$/m);
      assert.deepEqual(hits, ['127.0.0.1 /redirect'], 'no request went past the refused hop');
      assert.deepEqual([...deps.admission.denied], [[c.reason, 1]]);
    } finally {
      dns.close();
    }
  });
}

test('a redirect to an allowed address is followed', async () => {
  dns = new RebindingDNS(['127.0.0.1']);
  await dns.start();
  try {
    hits.length = 0;
    redirectTo = `http://127.0.0.1:${port}/final`;
    const deps = depsFor(config());
    const got = await probe(deps, 'http', `http://127.0.0.1:${port}/redirect`);
    assert.match(got.text, /^probe_success 1$/m);
    assert.deepEqual(hits, ['127.0.0.1 /redirect', '127.0.0.1 /final']);
    assert.equal(deps.admission.denied.size, 0);
  } finally {
    dns.close();
  }
});

/** runProbe under a gate pinning `localhost` to 127.0.0.2 (no DNS query can happen: localhost is answered locally). */
async function pinnedProbe(yaml: string, target: string) {
  const cfg = loadConfigString(`modules:\n  m: ${yaml}\nprobe_policy:\n  deny: { cidrs: [10.0.0.0/8] }\n`, 'pin.yml');
  const policy = new TargetPolicy(cfg.probe_policy!);
  const gate = new PolicyGate(policy, { host: 'localhost', addresses: ['127.0.0.2'], seconds: 0 }, () => undefined);
  return runProbe(target, cfg.modules.get('m')!, { timeoutSeconds: 10, logger: silentLogger, runtime: testRuntime, gate });
}

test('grpc, websocket, dns, http, tcp: a pinned name is dialled at the pinned address', async (t) => {
  const { server: grpcServer, port: grpcPort } = await servingHealthServer('127.0.0.2:0');
  const wsHttp = http.createServer();
  const wss = new WebSocketServer({ server: wsHttp });
  wss.on('connection', (ws) => ws.on('error', () => undefined));
  await new Promise<void>((r) => wsHttp.listen(0, '127.0.0.2', r));
  const wsPort = (wsHttp.address() as net.AddressInfo).port;
  const dnsSock = dgram.createSocket('udp4');
  dnsSock.on('message', (msg, from) => {
    const q = packet.decode(msg) as packet.Packet & { id: number };
    dnsSock.send(packet.encode({ id: q.id, type: 'response', flags: packet.RECURSION_DESIRED, questions: q.questions, answers: [{ type: 'A', name: 'x.test', ttl: 0, data: '127.0.0.9' }] }), from.port, from.address);
  });
  await new Promise<void>((r) => dnsSock.bind(0, '127.0.0.2', r));
  const dnsPort = dnsSock.address().port;
  t.after(() => {
    grpcServer.forceShutdown();
    wss.close();
    wsHttp.close();
    dnsSock.close();
  });
  const cases: Array<[string, string, string]> = [
    ['grpc', '{ prober: grpc, grpc: { preferred_ip_protocol: ip4 } }', `localhost:${grpcPort}`],
    ['websocket', '{ prober: websocket, websocket: { preferred_ip_protocol: ip4 } }', `ws://localhost:${wsPort}/`],
    ['dns', '{ prober: dns, dns: { query_name: x.test, preferred_ip_protocol: ip4 } }', `localhost:${dnsPort}`],
    ['http', '{ prober: http, http: { preferred_ip_protocol: ip4 } }', `http://localhost:${port}/`],
    ['tcp', '{ prober: tcp, tcp: { preferred_ip_protocol: ip4 } }', `localhost:${port}`],
  ];
  for (const [what, yaml, target] of cases) {
    const r = await pinnedProbe(yaml, target);
    assert.equal(r.success, true, `${what}: ${r.reason} ${r.message}`);
    assert.equal(r.address, '127.0.0.2', what);
  }
});

test('icmp and a refused literal: a pinned name is pinged at the pinned address; a denied literal fails policy_denied', async () => {
  const icmp = await pinnedProbe('{ prober: icmp, icmp: { preferred_ip_protocol: ip4 } }', 'localhost');
  // Without ICMP sockets (ping_group_range) the probe fails, but after resolution: the address says which.
  assert.equal(icmp.address, '127.0.0.2', `${icmp.reason} ${icmp.message}`);
  const denied = await pinnedProbe('{ prober: tcp, tcp: { preferred_ip_protocol: ip4 } }', '10.1.2.3:80');
  assert.equal(denied.reason, 'policy_denied');
  assert.match(denied.message ?? '', /refused by probe_policy \(address_denied\): 10\.1\.2\.3 is in a denied network/);
});
