// Paris traceroute against ECMP: r1 splits flows over r2a and r2b by their 5-tuple. Many flows
// show both next hops at TTL 2 (flagged multipath); one flow, probed round after round, never
// mixes paths, and different single flows land on different paths.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { buildEcmpLab, type EcmpLab } from '../lab/ecmplab';
import { privilegedTest } from '../lab/privileged';
import { fast, sondeTrace } from './helpers';

let lab: EcmpLab | undefined;
function getLab(): EcmpLab {
  lab ??= buildEcmpLab('sdecmp');
  return lab;
}
after(() => lab?.close());

const sorted = (a: readonly string[]) => [...a].sort();

privilegedTest('16 flows show both parallel next hops at TTL 2, flagged multipath (udp and tcp, IPv4 and IPv6)', async () => {
  const l = getLab();
  // 16 flows all hashed onto one of two paths: probability 2^-15.
  for (const [target, proto, r1, parallel] of [
    [l.target4, 'udp', l.r1.v4, l.parallel4],
    [l.target6, 'udp', l.r1.v6, l.parallel6],
    [l.target4, 'tcp', l.r1.v4, l.parallel4],
  ] as const) {
    const r = sondeTrace(fast(target, proto, ['--rounds', '2', '--flows', '16']));
    const j = r.json;
    assert.ok(j, r.stderr);
    assert.equal(j.reached, true, `${proto} ${target}`);
    assert.deepEqual(j.hops.map((h) => h.ttl), [1, 2, 3, 4]);
    assert.deepEqual(j.hops[0].addresses, [r1]);
    assert.deepEqual(sorted(j.hops[1].addresses), sorted(parallel), `${proto} ${target}: both next hops at TTL 2`);
    assert.equal(j.hops[1].multipath, true);
    assert.equal(j.multipath, true);
    assert.equal(j.hops[1].sent, 32);
    assert.deepEqual(j.hops[3].addresses, [target]);
  }
});

privilegedTest('a single Paris flow stays on one path over 20 rounds, and different flows use both paths', async () => {
  const l = getLab();
  for (const [target, proto, parallel] of [
    [l.target4, 'udp', l.parallel4],
    [l.target4, 'icmp', l.parallel4],
    [l.target6, 'tcp', l.parallel6],
  ] as const) {
    const r = sondeTrace(fast(target, proto, ['--rounds', '20']));
    const j = r.json;
    assert.ok(j, r.stderr);
    for (const h of j.hops) {
      assert.equal(h.addresses.length, 1, `${proto} ${target} ttl ${h.ttl}: one flow, one address (${h.addresses.join(', ')})`);
      assert.equal(h.received, 20);
    }
    assert.ok(parallel.includes(j.hops[1].addresses[0]));
  }
  // Single-flow traces with different source ports: each stays on one path, together they cover both.
  const seen = new Set<string>();
  for (let port = 0; port < 12 && seen.size < 2; port++) {
    const r = sondeTrace([...fast(l.target4, 'udp', ['--rounds', '5']), '--port', String(33434 + port)]);
    const hop2 = r.json?.hops[1];
    assert.equal(hop2?.addresses.length, 1, `flow ${port}`);
    seen.add(hop2.addresses[0]);
  }
  assert.deepEqual(sorted([...seen]), sorted(l.parallel4));
});
