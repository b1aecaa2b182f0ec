// `sonde trace --explain` in the fault lab (issue 4): every probe that got no answer gets exactly the
// expected verdict. Probe host (root netns) -> router (TTL 1) -> target (TTL 2).
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before } from 'node:test';
import { DropTracer, type BpfEvent } from '../../src/native/bpf';
import type { Attribution } from '../../src/result';
import { runSonde } from '../lab/cli';
import { FaultLab, PROBE_ADDR, ROUTER_P0, TARGET_ADDR } from '../lab/faultlab';
import { isRoot, privilegedTest } from '../lab/privileged';

let lab: FaultLab;

before(async () => {
  if (!isRoot()) return;
  lab = new FaultLab('sdtrx');
  await lab.start();
  // Linux rate-limits ICMP errors per destination (icmp_ratelimit: one a second after a burst of 6):
  // a trace right after another would lose time-exceeded answers to it, not to the path.
  for (const ns of ['rtr', 'tgt']) lab.lab.sysctl(ns, 'net.ipv4.icmp_ratelimit', '0');
});

after(() => lab?.close());

interface Hop {
  ttl: number;
  addresses: string[];
  sent: number;
  received: number;
  loss: number;
  attribution: Attribution[];
}

const ROUNDS = 4;

/** `sonde trace --explain --json` as an operator runs it (runSonde bounds it). */
async function traceExplain(proto: 'icmp' | 'udp' | 'tcp'): Promise<{ reached: boolean; hops: Hop[] }> {
  const args = ['trace', '--proto', proto, '--rounds', String(ROUNDS), '--max-ttl', '3', '--interval', '0.05', '--timeout', '2'];
  args.push('--explain', '--xdp-interface', lab.p0, '--json', TARGET_ADDR);
  const { code, stdout, stderr } = await runSonde(args);
  assert.ok(stdout.trim().startsWith('{'), `sonde trace printed no JSON (exit ${code}):\n${stderr}`);
  return JSON.parse(stdout) as { reached: boolean; hops: Hop[] };
}

const indexes = Array.from({ length: ROUNDS }, (_, k) => k);

privilegedTest('a clean trace reaches the target in 2 hops and attributes nothing', async () => {
  const t = await traceExplain('icmp');
  assert.equal(t.reached, true);
  assert.deepEqual(
    t.hops.map((h) => ({ ttl: h.ttl, addresses: h.addresses, loss: h.loss, attribution: h.attribution })),
    [
      { ttl: 1, addresses: [ROUTER_P0], loss: 0, attribution: [] },
      { ttl: 2, addresses: [TARGET_ADDR], loss: 0, attribution: [] },
    ],
  );
});

for (const proto of ['icmp', 'udp'] as const) {
  privilegedTest(`${proto}: a drop in the router's forward chain shows loss from hop 2, every lost probe path_loss, none local`, async () => {
    // A witness tracer over every namespace proves the router really dropped them: drops elsewhere
    // happened, yet none may be attributed as local.
    const witness = DropTracer.open({ localNetns: 0, reportAll: true });
    const seen: BpfEvent[] = [];
    witness.onEvents((evs) => seen.push(...evs));
    lab.dropInRouter(proto === 'icmp' ? `ip daddr ${TARGET_ADDR} icmp type echo-request` : `ip daddr ${TARGET_ADDR} udp dport 33434`);
    try {
      const t = await traceExplain(proto);
      await witness.drain();
      assert.equal(t.reached, false);
      assert.deepEqual(
        t.hops.map((h) => ({ ttl: h.ttl, loss: h.loss })),
        [
          { ttl: 1, loss: 0 },
          { ttl: 2, loss: 1 },
        ],
        'the router answers, loss starts at the hop behind it',
      );
      assert.deepEqual(t.hops[0].attribution, [], 'nothing lost at the router itself');
      assert.deepEqual(
        t.hops[1].attribution,
        indexes.map((seq) => ({ seq, verdict: 'path_loss', ...(proto === 'icmp' ? { replyAtNic: false } : {}) })),
      );
      const routerNetns = statSync(`/run/netns/${lab.lab.ns('rtr')}`).ino;
      const nftDrops = seen.filter(
        (e) => e.kind === 'drop' && e.reason === 'NETFILTER_DROP' && e.saddr === PROBE_ADDR && e.daddr === TARGET_ADDR && e.netns === routerNetns,
      );
      assert.equal(nftDrops.length, ROUNDS * 2, 'the witness saw the router drop the TTL 2 and 3 probes of every round');
    } finally {
      lab.clearRules();
      witness.stop();
    }
  });

  privilegedTest(`${proto}: an nft drop of the probes in the output chain is local_drop NETFILTER_DROP egress for each`, async () => {
    lab.dropLocal('output', proto === 'icmp' ? `ip daddr ${TARGET_ADDR} icmp type echo-request` : `ip daddr ${TARGET_ADDR} udp dport 33434`);
    try {
      const t = await traceExplain(proto);
      assert.equal(t.reached, false);
      assert.deepEqual(
        t.hops.map((h) => ({ ttl: h.ttl, sent: h.sent, received: h.received })),
        [{ ttl: 1, sent: ROUNDS, received: 0 }],
        'nothing leaves: the trace ends dark at hop 1',
      );
      assert.deepEqual(
        t.hops[0].attribution.map((a) => ({ seq: a.seq, verdict: a.verdict, reason: a.reason, direction: a.direction })),
        indexes.map((seq) => ({ seq, verdict: 'local_drop', reason: 'NETFILTER_DROP', direction: 'egress' })),
      );
      for (const a of t.hops[0].attribution) assert.match(a.location ?? '', /^nft?_\w+\+0x[0-9a-f]+$/);
    } finally {
      lab.clearRules();
    }
  });
}
