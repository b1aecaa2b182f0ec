// Fault-lab scenarios (issue 4): every lost probe gets exactly the expected verdict and reason.
// The probe host is the root netns (see test/lab/faultlab.ts); flows are UDP exchanges made with kernel
// sockets and registered through BpfFlowRegistry, the same path the kernel-socket probers use.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before } from 'node:test';
import { BpfFlowRegistry } from '../../src/attribution/registry';
import { xdpSawReplyBeforeDrop } from '../../src/attribution/classify';
import { DropTracer, type BpfEvent } from '../../src/native/bpf';
import { BURST_COUNT, FaultLab, PORTS } from '../lab/faultlab';
import { isRoot, privilegedTest } from '../lab/privileged';
import { explainWhen, udpExchange, type Exchange } from './udp';

let lab: FaultLab;
let tracer: DropTracer;
let registry: BpfFlowRegistry;
let p0: number;

before(async () => {
  if (!isRoot()) return;
  lab = new FaultLab('sdbpf');
  await lab.start();
  tracer = DropTracer.open({ localNetns: 'self' });
  registry = new BpfFlowRegistry(tracer, { maxEventsPerFlow: 1024 });
  p0 = tracer.attachXdp(lab.p0);
});

after(() => {
  tracer?.stop();
  lab?.close();
});

async function lostProbes(n: number, port: number, timeoutMs = 400): Promise<Exchange[]> {
  const out: Exchange[] = [];
  for (let i = 0; i < n; i++) out.push(await udpExchange(registry, { port, timeoutMs, expect: 1 }));
  return out;
}

privilegedTest('nft drop of replies in the input chain is a local NETFILTER_DROP on ingress, seen by XDP first', async () => {
  lab.dropLocal('input', `ip saddr 198.19.241.2 udp sport ${PORTS.echo}`);
  try {
    const probes = await lostProbes(5, PORTS.echo);
    for (const p of probes) {
      assert.equal(p.received, 0, 'the reply must not reach the socket');
      const a = await explainWhen(registry, p.id, (x) => x.verdict === 'local_drop');
      assert.deepEqual(
        { verdict: a.verdict, reason: a.reason, direction: a.direction, ifindex: a.ifindex },
        { verdict: 'local_drop', reason: 'NETFILTER_DROP', direction: 'ingress', ifindex: p0 },
      );
      // where netfilter frees it: nf_hook_slow, or nft_do_chain itself on newer kernels
      assert.match(a.location ?? '', /^nft?_\w+\+0x[0-9a-f]+$/);
      const seen = registry.seen(p.id);
      assert.equal(seen?.packets, 1, 'XDP recorded the reply in the seen map');
      assert.equal(registry.events(p.id).filter((e) => e.kind === 'xdp').length, 0, 'and sent no ring event for it');
      assert.ok(xdpSawReplyBeforeDrop(registry.events(p.id), undefined, seen), 'XDP saw the reply before the stack dropped it');
      registry.remove(p.id);
    }
  } finally {
    lab.clearRules();
  }
});

privilegedTest('nft drop of requests in the output chain is a local NETFILTER_DROP on egress', async () => {
  lab.dropLocal('output', `ip daddr 198.19.241.2 udp dport ${PORTS.echo}`);
  try {
    const probes = await lostProbes(5, PORTS.echo);
    for (const p of probes) {
      assert.equal(p.sendError, 'EPERM', 'netfilter drops on LOCAL_OUT fail sendmsg with EPERM');
      const [a] = await registry.explain(p.id);
      assert.deepEqual({ verdict: a.verdict, reason: a.reason, direction: a.direction }, { verdict: 'local_drop', reason: 'NETFILTER_DROP', direction: 'egress' });
      assert.equal(registry.seen(p.id), null, 'no reply can have come back');
      registry.remove(p.id);
    }
  } finally {
    lab.clearRules();
  }
});

privilegedTest('strict rp_filter with an asymmetric return route is a local IP_RPFILTER on ingress', async () => {
  lab.asymmetricRpFilter(true);
  try {
    const probes = await lostProbes(5, PORTS.echo);
    for (const p of probes) {
      assert.equal(p.received, 0);
      const a = await explainWhen(registry, p.id, (x) => x.verdict === 'local_drop');
      assert.deepEqual(
        { verdict: a.verdict, reason: a.reason, direction: a.direction, ifindex: a.ifindex },
        { verdict: 'local_drop', reason: 'IP_RPFILTER', direction: 'ingress', ifindex: p0 },
      );
      registry.remove(p.id);
    }
  } finally {
    lab.asymmetricRpFilter(false);
  }
});

privilegedTest('a reply that arrives after its socket closed is a local NO_SOCKET on ingress', async () => {
  for (let i = 0; i < 3; i++) {
    // The echo comes back ECHO_DELAY_MS after the request, long after the socket closed.
    const p = await udpExchange(registry, { port: PORTS.delayedEcho, timeoutMs: 700, closeAfterMs: 20 });
    assert.equal(p.received, 0);
    const a = await explainWhen(registry, p.id, (x) => x.verdict === 'local_drop');
    assert.deepEqual({ verdict: a.verdict, reason: a.reason, direction: a.direction }, { verdict: 'local_drop', reason: 'NO_SOCKET', direction: 'ingress' });
    assert.match(a.location ?? '', /udp/);
    registry.remove(p.id);
  }
});

privilegedTest('a burst into a tiny receive buffer: every lost reply is a local SOCKET_RCVBUFF', async () => {
  const p = await udpExchange(registry, { port: PORTS.burst, timeoutMs: 3000, rcvbuf: 2048, blockMs: 300 });
  const lost = BURST_COUNT - p.received;
  assert.ok(lost > 0, `the burst must overflow the buffer (received ${p.received})`);
  await tracer.drain();
  const drops = registry.events(p.id).filter((e) => e.kind === 'drop');
  assert.equal(drops.length, lost, 'one drop event per lost reply');
  for (const d of drops) assert.deepEqual({ reason: d.reason, direction: d.direction }, { reason: 'SOCKET_RCVBUFF', direction: 'ingress' });
  assert.equal(registry.seen(p.id)?.packets, BURST_COUNT, 'XDP saw every reply');
  const [a] = await registry.explain(p.id);
  assert.deepEqual({ verdict: a.verdict, reason: a.reason }, { verdict: 'local_drop', reason: 'SOCKET_RCVBUFF' });
  registry.remove(p.id);
});

privilegedTest('a drop in the router forward chain is path_loss: drops in other namespaces are not local', async () => {
  // A witness tracer for every packet in every namespace proves the router really dropped them.
  const witness = DropTracer.open({ localNetns: 0, reportAll: true });
  const seen: BpfEvent[] = [];
  witness.onEvents((evs) => seen.push(...evs));
  lab.dropInRouter(`ip daddr 198.19.241.2 udp dport ${PORTS.echo}`);
  try {
    const probes = await lostProbes(5, PORTS.echo);
    const routerNetns = statSync(`/run/netns/${lab.lab.ns('rtr')}`).ino;
    await witness.drain();
    for (const p of probes) {
      assert.equal(p.received, 0);
      assert.equal(p.sendError, undefined, 'the request left the probe host');
      const [a] = await registry.explain(p.id);
      assert.deepEqual(a, { verdict: 'path_loss' });
      const drops = seen.filter((e) => e.kind === 'drop' && e.saddr === '198.19.240.1' && e.sport === p.localPort);
      assert.equal(drops.length, 1, 'the witness saw the request dropped once');
      assert.deepEqual({ reason: drops[0].reason, netns: drops[0].netns }, { reason: 'NETFILTER_DROP', netns: routerNetns });
      registry.remove(p.id);
    }
  } finally {
    lab.clearRules();
    witness.stop();
  }
});

privilegedTest('a clean run of 10,000 probes has no drops and no attribution', async () => {
  const SOCKETS = 100;
  const ROUNDS = 100;
  const before = tracer.stats().eventsLost;
  // Each probe ends like a prober's: wait for its events to be delivered, look, unregister.
  let replies = 0;
  let drops = 0;
  let xdp = 0;
  let unregistered = 0;
  await Promise.all(
    Array.from({ length: SOCKETS }, async () => {
      for (let r = 0; r < ROUNDS; r++) {
        const p = await udpExchange(registry, { port: PORTS.echo, timeoutMs: 10_000, expect: 1 });
        if (p.id === 0) unregistered++;
        replies += p.received;
        await tracer.drain();
        const evs = registry.events(p.id);
        drops += evs.filter((e) => e.kind === 'drop').length;
        xdp += registry.seen(p.id)?.packets ?? 0;
        registry.remove(p.id);
      }
    }),
  );
  assert.equal(unregistered, 0, 'every probe flow was registered');
  assert.equal(replies, SOCKETS * ROUNDS, 'every probe answered');
  assert.equal(drops, 0, 'no drop attributed to any probe flow');
  assert.equal(xdp, SOCKETS * ROUNDS, 'XDP saw each reply exactly once');
  assert.equal(tracer.stats().eventsLost - before, 0, 'no ring overflow');
  assert.equal(tracer.activeFlows, 0, 'the flow map is empty again');
});

privilegedTest('per-packet overhead of each program is measured (run_time_ns / run_cnt)', async () => {
  const s0 = tracer.stats().programs;
  // 2,000 replies that XDP matches and nftables then drops (matched path of both programs: a seen-map
  // update, a drop ring event), then 2,000 clean echo exchanges (XDP matched path, no drop).
  lab.dropLocal('input', `ip saddr 198.19.241.2 udp sport ${PORTS.burst}`);
  try {
    for (let i = 0; i < 20; i++) {
      const p = await udpExchange(registry, { port: PORTS.burst, timeoutMs: 150 });
      registry.remove(p.id);
    }
  } finally {
    lab.clearRules();
  }
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      for (let r = 0; r < 200; r++) registry.remove((await udpExchange(registry, { port: PORTS.echo, timeoutMs: 10_000, expect: 1 })).id);
    }),
  );
  const s1 = tracer.stats().programs;
  for (const p of s1) {
    const before = s0.find((q) => q.id === p.id) ?? { runCnt: 0, runTimeNs: 0 };
    const runs = p.runCnt - before.runCnt;
    const ns = (p.runTimeNs - before.runTimeNs) / runs;
    console.log(`bpf overhead: ${p.name} ${ns.toFixed(0)} ns/run over ${runs} runs`);
    assert.ok(runs >= 2000, `${p.name} ran for the load (${runs} runs)`);
    assert.ok(ns > 0 && ns < 20_000, `${p.name} costs ${ns} ns per run`);
  }
});
