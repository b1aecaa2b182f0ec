// The icmp prober against a lab of three routers: success, TTL expiry, unreachable, loss,
// duplicates, forged replies, and RTT against iputils ping as an independent witness.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after } from 'node:test';
import { buildIcmpLab, type IcmpLab } from '../lab/icmplab';
import { privilegedTest } from '../lab/privileged';
import { median, probe } from './helpers';
import { testRuntime } from '../runtime';

let lab: IcmpLab | undefined;
function getLab(): IcmpLab {
  lab ??= buildIcmpLab('sdicmp');
  return lab;
}
after(() => lab?.close());

privilegedTest('an echo through three routers succeeds over IPv4 and IPv6 with the hop limit of a 3-router path', async () => {
  const l = getLab();
  for (const [target, family] of [[l.target4, 4], [l.target6, 6]] as const) {
    const r = await probe(target, { pings: 3, interval: 0.05, preferred_ip_protocol: family === 4 ? 'ip4' : 'ip6' });
    assert.equal(r.success, true, `${target}: ${r.reason} ${r.message}`);
    assert.equal(r.address, target);
    assert.equal(r.ipProtocol, family);
    assert.equal(r.icmp?.sent, 3);
    assert.equal(r.icmp?.received, 3);
    assert.equal(r.icmp?.loss, 0);
    assert.equal(r.icmp?.replyHopLimit, 61, 'the target sends with 64 and three routers decrement it');
    assert.ok(r.phases.rtt > 0 && r.phases.rtt <= r.durationSeconds, `rtt ${r.phases.rtt} s within the probe's ${r.durationSeconds} s`);
    assert.ok(r.icmp.rtt && r.icmp.rtt.min <= r.icmp.rtt.median && r.icmp.rtt.median <= r.icmp.rtt.max);
  }
});

privilegedTest('a TTL-limited echo ends as icmp_time_exceeded from the router where the TTL ran out', async () => {
  const l = getLab();
  for (const [routers, target] of [[l.routers4, l.target4], [l.routers6, l.target6]] as const) {
    for (let ttl = 1; ttl <= 3; ttl++) {
      const r = await probe(target, { ttl, preferred_ip_protocol: target.includes(':') ? 'ip6' : 'ip4' });
      assert.equal(r.success, false);
      assert.equal(r.reason, 'icmp_time_exceeded', `ttl ${ttl}: ${r.message}`);
      assert.match(r.message ?? '', new RegExp(`from ${routers[ttl - 1]}$`), `ttl ${ttl}`);
    }
    const reached = await probe(target, { ttl: 4, preferred_ip_protocol: target.includes(':') ? 'ip6' : 'ip4' });
    assert.equal(reached.success, true, 'four hops reach the target');
  }
});

privilegedTest('a router rejecting one address gives icmp_unreachable for that probe only', async () => {
  const l = getLab();
  l.lab.nft('r3', `table inet sdrej {
    chain f { type filter hook forward priority 0;
      ip daddr ${l.many4[8]} icmp type echo-request reject with icmp type host-unreachable
      ip6 daddr ${l.many6[8]} icmpv6 type echo-request reject with icmpv6 type addr-unreachable
    }
  }`);
  try {
    const [bad4, good4, bad6, good6] = await Promise.all([
      probe(l.many4[8]),
      probe(l.many4[9]),
      probe(l.many6[8], { preferred_ip_protocol: 'ip6' }),
      probe(l.many6[9], { preferred_ip_protocol: 'ip6' }),
    ]);
    assert.equal(bad4.reason, 'icmp_unreachable', bad4.message);
    assert.match(bad4.message ?? '', new RegExp(`code 1\\) from ${l.routers4[2]}$`), 'host unreachable from r3');
    assert.equal(bad6.reason, 'icmp_unreachable', bad6.message);
    assert.match(bad6.message ?? '', new RegExp(`code 3\\) from ${l.routers6[2]}$`), 'address unreachable from r3');
    assert.equal(good4.success, true, good4.message);
    assert.equal(good6.success, true, good6.message);
  } finally {
    l.lab.exec('r3', ['nft', 'delete', 'table', 'inet', 'sdrej']);
  }
});

privilegedTest('dropping 30% of echo requests at r2 shows as loss within statistical tolerance', async () => {
  const l = getLab();
  l.lab.nft('r2', `table inet sdloss {
    chain f { type filter hook forward priority 0;
      ip daddr ${l.many4[19]} icmp type echo-request numgen random mod 10 < 3 drop
    }
  }`);
  try {
    // The lost echoes wait for the deadline: 8 s leaves room for 0.8 s of sending on a loaded machine.
    const r = await probe(l.many4[19], { pings: 400, interval: 0.002 }, 8);
    assert.equal(r.icmp?.sent, 400);
    // Binomial(400, 0.3): sd = 0.023, so ±0.1 is more than 4 sd.
    const loss = r.icmp?.loss ?? -1;
    assert.ok(loss > 0.2 && loss < 0.4, `loss ${loss}`);
    assert.equal(r.success, true, 'some echoes answered: the target is up, the loss is a measurement');
    assert.equal(r.icmp?.duplicates, 0);
  } finally {
    l.lab.exec('r2', ['nft', 'delete', 'table', 'inet', 'sdloss']);
  }
});

privilegedTest('all echoes lost without an ICMP error is packet_loss', async () => {
  const l = getLab();
  l.lab.nft('r1', `table inet sddrop {
    chain f { type filter hook forward priority 0; ip daddr ${l.many4[29]} drop
    }
  }`);
  try {
    const r = await probe(l.many4[29], { pings: 2, interval: 0.1 }, 3);
    assert.equal(r.success, false);
    assert.equal(r.reason, 'packet_loss');
    assert.equal(r.icmp?.loss, 1);
  } finally {
    l.lab.exec('r1', ['nft', 'delete', 'table', 'inet', 'sddrop']);
  }
});

privilegedTest('duplicated replies are counted as duplicates, never as extra replies', async () => {
  const l = getLab();
  // r3 sends a second copy of each reply back through r2 (nft dup), so every reply arrives twice.
  const back4 = l.routers4[2].replace(/\.2$/, '.1');
  const back6 = l.routers6[2].replace(/::2$/, '::1');
  l.lab.nft('r3', `table ip sddup {
    chain f { type filter hook forward priority 0;
      ip saddr ${l.many4[39]} icmp type echo-reply dup to ${back4}
    }
  }
  table ip6 sddup {
    chain f { type filter hook forward priority 0;
      ip6 saddr ${l.many6[39]} icmpv6 type echo-reply dup to ${back6}
    }
  }`);
  try {
    for (const [target, ip] of [[l.many4[39], 'ip4'], [l.many6[39], 'ip6']] as const) {
      // 250 ms apart: each duplicate has that long (a path of microseconds) to land before the next reply.
      const r = await probe(target, { pings: 5, interval: 0.25, preferred_ip_protocol: ip });
      assert.equal(r.success, true, r.message);
      assert.equal(r.icmp?.received, 5);
      assert.equal(r.icmp?.loss, 0);
      // The last echo's duplicate may land after the round closed; the earlier four cannot.
      assert.ok((r.icmp?.duplicates ?? 0) >= 4, `duplicates ${r.icmp?.duplicates}`);
    }
  } finally {
    l.lab.exec('r3', ['nft', 'delete', 'table', 'ip', 'sddup']);
    l.lab.exec('r3', ['nft', 'delete', 'table', 'ip6', 'sddup']);
  }
});

// Sends forged echo replies (random id/seq, no sonde cookie) from the target address to the host.
const FORGER = `
import socket, os, struct, sys, time
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind((sys.argv[1], 0))
print('ready', flush=True)
for i in range(int(sys.argv[3])):
    ident, seq = struct.unpack('!HH', os.urandom(4))
    body = os.urandom(56)
    hdr = struct.pack('!BBHHH', 0, 0, 0, ident, seq)
    pkt = struct.pack('!BBHHH', 0, 0, csum(hdr + body), ident, seq) + body
    s.sendto(pkt, (sys.argv[2], 0))
    time.sleep(0.002)
`;

privilegedTest('forged replies from the target address are strays, never success', async () => {
  const l = getLab();
  const target = l.many4[49];
  l.lab.nft('r3', `table inet sdstray {
    chain f { type filter hook forward priority 0; ip daddr ${target} icmp type echo-request drop
    }
  }`);
  try {
    const before = testRuntime.icmp().counters().strays;
    const forger = l.lab.spawn('t', ['/usr/bin/python3', '-c', FORGER, target, '198.19.201.1', '300']);
    await new Promise<void>((resolve, reject) => {
      forger.stdout?.once('data', () => resolve());
      forger.once('exit', (code) => reject(new Error(`forger exited with ${code}`)));
    });
    const r = await probe(target, { pings: 4, interval: 0.1 }, 3);
    await new Promise<void>((resolve) => (forger.exitCode === null ? forger.once('exit', () => resolve()) : resolve()));
    assert.equal(r.success, false);
    assert.equal(r.reason, 'packet_loss');
    assert.equal(r.icmp?.received, 0);
    const strays = testRuntime.icmp().counters().strays - before;
    assert.ok(strays >= 290, `strays ${strays}`);
  } finally {
    l.lab.exec('r3', ['nft', 'delete', 'table', 'inet', 'sdstray']);
  }
});

privilegedTest('RTT agrees with iputils ping on the same path (median difference under 1 ms)', async (t) => {
  const l = getLab();
  const r = await probe(l.target4, { pings: 100, interval: 0.005 });
  assert.equal(r.icmp?.received, 100);
  const out = execFileSync('ping', ['-n', '-c', '100', '-i', '0.005', '-W', '10', l.target4], { encoding: 'utf8' });
  const witness = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) / 1000);
  assert.equal(witness.length, 100);
  const ours = median(r.icmp?.rtts ?? []);
  const theirs = median(witness);
  t.diagnostic(`median rtt: sonde ${(ours * 1e6).toFixed(1)} µs, ping ${(theirs * 1e6).toFixed(1)} µs, difference ${((ours - theirs) * 1e6).toFixed(1)} µs`);
  assert.ok(Math.abs(ours - theirs) < 0.001, `sonde ${ours} vs ping ${theirs}`);
});

// A plain IPv4 echo of up to 552 bytes leaves its socket unfragmentable (IP ID 0, no shared ID
// counter: icmp/socket.h); a larger one goes out on the twin that fragments, as before.
privilegedTest('an IPv4 echo larger than the link MTU is fragmented unless DF is asked for', async () => {
  const l = getLab();
  for (const payload_size of [56, 600, 3000]) {
    const r = await probe(l.target4, { payload_size, pings: 2, interval: 0.05 });
    assert.equal(r.success, true, `${payload_size} bytes: ${r.reason} ${r.message}`);
    assert.equal(r.icmp?.received, 2);
  }
  const df = await probe(l.target4, { payload_size: 3000, dont_fragment: true }, 3);
  assert.equal(df.success, false, 'DF: a 3028-byte packet cannot leave a 1500-byte link');
});
