// Honest loss: `sonde trace` on a loss-free chain of three routers whose namespaces keep the
// kernel's default ICMP rate limits (icmp_ratelimit 1000 ms after a burst of 6, icmp_msgs_per_sec
// 1000) shows 0% at every hop for icmp, udp and tcp, at the issue's 10 rounds 0.25 s apart; a real
// drop at one router shows there and beyond; and withheld answers (pacing switched off) are marked
// as a rate limit, not reported as loss of the path. The real command, as a separate process.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { buildIcmpLab, type IcmpLab } from '../lab/icmplab';
import { privilegedTest } from '../lab/privileged';
import { sondeInPty } from '../lab/pty';
import { sleep } from '../lab/wait';
import { sondeTrace } from './helpers';

let lab: IcmpLab | undefined;
function getLab(): IcmpLab {
  lab ??= buildIcmpLab('sdtrl', { kernelIcmpLimits: true });
  return lab;
}
after(() => lab?.close());

/**
 * A router's bucket refills one token a second up to 6: after 7 s without probes every hop has its
 * full burst again, as for a trace nobody ran before (a wait for the kernel's clock, not a race).
 */
const refill = () => sleep(7000);

privilegedTest('the lab keeps the kernel default ICMP rate limits in every namespace', () => {
  const l = getLab();
  for (const ns of ['r1', 'r2', 'r3', 't']) {
    assert.equal(l.lab.exec(ns, ['sysctl', '-n', 'net.ipv4.icmp_ratelimit']).trim(), '1000', ns);
    assert.equal(l.lab.exec(ns, ['sysctl', '-n', 'net.ipv4.icmp_msgs_per_sec']).trim(), '1000', ns);
    // IPv6's default is 1000 ms on older kernels, 100 ms on newer ones: either way no more generous than IPv4's.
    assert.ok(Number(l.lab.exec(ns, ['sysctl', '-n', 'net.ipv6.icmp.ratelimit']).trim()) <= 1000, ns);
  }
});

privilegedTest('10 rounds 0.25 s apart, max TTL 30: 0% loss at every hop for icmp, udp and tcp (IPv4 and IPv6 for udp)', async () => {
  const l = getLab();
  const runs: Array<[string, string, string[]]> = [
    ['icmp', l.target4, l.routers4],
    ['udp', l.target4, l.routers4],
    ['tcp', l.target4, l.routers4],
    ['udp', l.target6, l.routers6],
  ];
  for (const [proto, target, routers] of runs) {
    await refill();
    const what = `${proto} ${target}`;
    const r = sondeTrace([target, '--proto', proto, '-c', '10', '-i', '0.25', '--max-ttl', '30', '--timeout', '5', '--json', ...(target.includes(':') ? ['-6'] : [])], 300_000);
    assert.equal(r.status, 0, `${what}: exit ${r.status} ${r.stderr}`);
    const j = r.json;
    assert.ok(j, `${what}: no JSON`);
    console.log(`${what}: ${j.hops.map((h) => `${h.ttl}:${h.received}/${h.sent}`).join(' ')}`);
    assert.deepEqual(j.hops.map((h) => h.addresses), [[routers[0]], [routers[1]], [routers[2]], [target]], what);
    for (const h of j.hops) {
      assert.deepEqual([h.ttl, h.sent, h.received, h.loss], [h.ttl, 10, 10, 0], `${what} ttl ${h.ttl}`);
      assert.equal((h as { rate_limited?: boolean }).rate_limited, false);
    }
  }
}, 600_000);

privilegedTest('a real drop at r2 (nftables, 3 probes in 10) shows as loss at TTL 2 and beyond, none at TTL 1, no rate-limit mark', async () => {
  const l = getLab();
  // Deterministic: a counter, not chance (rounds of 3 probes past r2 spread it evenly over the TTLs). prerouting: before r2's TTL check, so probes expiring at r2 are dropped too.
  l.lab.nft('r2', `table inet sdtrl {
    chain p { type filter hook prerouting priority 0;
      ip daddr ${l.target4} ip saddr 198.19.201.1 numgen inc mod 10 < 3 drop
      ip6 daddr ${l.target6} ip6 saddr fd5e:ed00:3201::1 numgen inc mod 10 < 3 drop
    }
  }`);
  try {
    for (const [target, proto] of [[l.target4, 'icmp'], [l.target6, 'udp']] as const) {
      await refill();
      const r = sondeTrace([target, '--proto', proto, '-c', '20', '-i', '0.25', '--max-ttl', '30', '--timeout', '3', '--json', ...(target.includes(':') ? ['-6'] : [])], 300_000);
      const j = r.json;
      assert.ok(j, r.stderr);
      console.log(`${target} ${proto} with a drop at r2: ${j.hops.map((h) => `${h.ttl}:${h.received}/${h.sent}`).join(' ')}`);
      assert.equal(j.reached, true);
      assert.deepEqual(j.hops.map((h) => h.ttl), [1, 2, 3, 4]);
      assert.equal(j.hops[0].loss, 0, `${target}: no loss before r2`);
      for (const h of j.hops.slice(1)) {
        assert.equal(h.sent, 20);
        assert.ok(h.loss >= 0.15 && h.loss <= 0.55, `${target} ${proto} ttl ${h.ttl}: loss ${h.loss} (${h.received}/${h.sent})`);
      }
      for (const h of j.hops) assert.equal((h as { rate_limited?: boolean }).rate_limited, false, `ttl ${h.ttl}`);
    }
  } finally {
    l.lab.exec('r2', ['nft', 'delete', 'table', 'inet', 'sdtrl']);
  }
}, 600_000);

privilegedTest('without pacing (--hop-ratelimit 0) the routers withhold answers: that loss does not continue to the target and is marked as a rate limit', async () => {
  const l = getLab();
  await refill();
  // 30 rounds 20 ms apart: 50 answers a second asked of routers that give one a second after 6.
  const r = sondeTrace([l.target4, '--proto', 'icmp', '-c', '30', '-i', '0.02', '--max-ttl', '6', '--timeout', '3', '--hop-ratelimit', '0', '--json'], 300_000);
  const j = r.json;
  assert.ok(j, r.stderr);
  console.log(`unpaced: ${j.hops.map((h) => `${h.ttl}:${h.received}/${h.sent}`).join(' ')}`);
  assert.equal(j.reached, true);
  const [r1, r2, r3, t] = j.hops as Array<(typeof j.hops)[number] & { rate_limited: boolean }>;
  // The target's echo replies are not rate limited (icmp_ratemask): all came back.
  assert.equal(t.loss, 0);
  for (const h of [r1, r2, r3]) {
    assert.ok(h.loss > 0.5, `ttl ${h.ttl}: the router answered ${h.received} of ${h.sent}`);
    assert.equal(h.rate_limited, true, `ttl ${h.ttl}`);
  }
  // The report says so too.
  await refill();
  const text = sondeTrace([l.target4, '-c', '30', '-i', '0.02', '--max-ttl', '6', '--timeout', '3', '--hop-ratelimit', '0', '-r'], 300_000);
  assert.match(text.stdout, /^ {2}1\.\|-- 198\.19\.201\.2 .*rate-limited: loss does not continue$/m);
});

privilegedTest('on a terminal the table is redrawn while it runs; Ctrl-C prints the report so far (no loss from probes in flight) and exits 0', async () => {
  const l = getLab();
  await refill();
  const pty = sondeInPty(['trace', l.target4, '-c', '1000', '-i', '0.25', '--timeout', '5']);
  // The live view shows the target's line, then (a redraw later) a second round.
  assert.ok(await pty.waitFor(/round [2-9]\/1000/), pty.output());
  assert.ok(await pty.waitFor(/ 4\.\|-- 198\.19\.204\.2 /), pty.output());
  pty.interrupt();
  assert.equal(await pty.exited, 0, pty.output());
  // The final report: after the last screen clear, mtr's report of the rounds done.
  const screens = pty.output().replace(/\r/g, '').split('\x1b[H\x1b[2J');
  const report = screens[screens.length - 1];
  assert.match(report, /^Start: /);
  assert.match(report, /\nreached 198\.19\.204\.2 \(198\.19\.204\.2\) in 4 hops over icmp; rtt in ms\n/);
  const hops = [...report.matchAll(/^ +(\d)\.\|-- (\S+) +([\d.]+)% +(\d+) /gm)].map((m) => [Number(m[1]), m[2], m[3], Number(m[4])] as const);
  assert.deepEqual(hops.map((h) => [h[0], h[1], h[2]]), [[1, l.routers4[0], '0.0'], [2, l.routers4[1], '0.0'], [3, l.routers4[2], '0.0'], [4, l.target4, '0.0']]);
  assert.ok(hops.every((h) => h[3] >= 2 && h[3] < 1000), JSON.stringify(hops));
});
