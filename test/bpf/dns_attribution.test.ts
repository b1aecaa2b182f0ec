// The dns prober's flows are registered with the eBPF drop tracer like every other probe's (issue
// 10): a query whose answer an nft rule drops on its way in over loopback fails with dns_timeout
// and the attribution local_drop NETFILTER_DROP, ingress, over UDP and over TCP. (TCP registers its
// 5-tuple once the kernel has picked the port, as the Node-socket probers do (src/probers/flows.ts):
// the answer's segments are covered, a SYN-ACK dropped on loopback is not, since loopback handles
// it inside the connect call, before the port is known.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before } from 'node:test';
import { BpfFlowRegistry } from '../../src/attribution/registry';
import { loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { DropTracer } from '../../src/native/bpf';
import { runProbe } from '../../src/schedule/run_probe';
import { isRoot, privilegedTest } from '../lab/privileged';
import { startResponder, type Responder } from '../probers/dns_responder';
import { testRuntime } from '../runtime';

const TABLE = 'sonde_dns_attr';
let tracer: DropTracer;
let registry: BpfFlowRegistry;
let srv: Responder;

function nft(args: string[], input?: string): void {
  const r = spawnSync('nft', args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
}

before(async () => {
  if (!isRoot()) return;
  srv = await startResponder();
  tracer = DropTracer.open({ localNetns: 'self' });
  registry = new BpfFlowRegistry(tracer);
});

after(async () => {
  spawnSync('nft', ['delete', 'table', 'inet', TABLE]);
  tracer?.stop();
  await srv?.close();
});

const cfg = loadConfigString(
  'modules:\n  udp: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4 } }\n  tcp: { prober: dns, dns: { query_type: A, preferred_ip_protocol: ip4, transport_protocol: tcp } }\n',
  'a.yml',
);

privilegedTest('a dns answer dropped by nft on loopback: dns_timeout, attributed local_drop NETFILTER_DROP ingress', async () => {
  // Only the answers of this test's responder: sport is its port, on lo.
  nft(['-f', '-'], `table inet ${TABLE} {\n chain c { type filter hook input priority 0; iifname "lo" udp sport ${srv.port} drop; }\n}\n`);
  try {
    const r = await runProbe(`ok.test@127.0.0.1:${srv.port}`, cfg.modules.get('udp')!, { timeoutSeconds: 1, logger: silentLogger, runtime: testRuntime, flows: registry });
    assert.equal(r.reason, 'dns_timeout', r.message);
    const a = r.attribution?.[0];
    assert.deepEqual({ verdict: a?.verdict, reason: a?.reason, direction: a?.direction }, { verdict: 'local_drop', reason: 'NETFILTER_DROP', direction: 'ingress' }, JSON.stringify(r.attribution));
  } finally {
    nft(['delete', 'table', 'inet', TABLE]);
  }
  // Without the rule the same probe passes on the same registry.
  const ok = await runProbe(`ok.test@127.0.0.1:${srv.port}`, cfg.modules.get('udp')!, { timeoutSeconds: 2, logger: silentLogger, runtime: testRuntime, flows: registry });
  assert.equal(ok.success, true, ok.message);
});

privilegedTest('a dns answer over TCP dropped by nft on loopback: dns_timeout, attributed local_drop NETFILTER_DROP ingress', async () => {
  // The answer's data segments only (PSH): the handshake passes, the query goes out, the answer never arrives.
  nft(['-f', '-'], `table inet ${TABLE} {\n chain c { type filter hook input priority 0; iifname "lo" tcp sport ${srv.port} tcp flags & psh == psh drop; }\n}\n`);
  try {
    const r = await runProbe(`ok.test@127.0.0.1:${srv.port}`, cfg.modules.get('tcp')!, { timeoutSeconds: 1, logger: silentLogger, runtime: testRuntime, flows: registry });
    assert.equal(r.reason, 'dns_timeout', r.message);
    const a = r.attribution?.find((x) => x.verdict === 'local_drop');
    assert.deepEqual({ verdict: a?.verdict, reason: a?.reason, direction: a?.direction }, { verdict: 'local_drop', reason: 'NETFILTER_DROP', direction: 'ingress' }, JSON.stringify(r.attribution));
  } finally {
    nft(['delete', 'table', 'inet', TABLE]);
  }
  const ok = await runProbe(`ok.test@127.0.0.1:${srv.port}`, cfg.modules.get('tcp')!, { timeoutSeconds: 2, logger: silentLogger, runtime: testRuntime, flows: registry });
  assert.equal(ok.success, true, ok.message);
});
