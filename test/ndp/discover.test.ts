// `sonde discover-v6` against radvd in a lab namespace: the JSON must carry exactly the values
// radvd was configured with, and the SLAAC proposals must equal the addresses the kernel itself
// forms on the same link (EUI-64 on one interface, RFC 7217 stable privacy on another).
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { isIP } from 'node:net';
import { addressBytes, formatAddress } from '../../src/native/ipaddr';
import type { DiscoverReport } from '../../src/ndp/report';
import { Lab } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';
import { waitFor } from '../lab/wait';
import { INJECT_RAS_PY, kernelAddresses, linkLocalOf, macOf, scratch, sondeIn } from './ndp_lab';

const SECRET = 'fd5e:ed00:5ec:0:1234:5678:9abc:def0'; // an RFC 7217 key, never an address in use
const radvdConf = (ifname: string) => `interface ${ifname} {
  AdvSendAdvert on;
  MinRtrAdvInterval 30;
  MaxRtrAdvInterval 100;
  AdvDefaultPreference high;
  AdvDefaultLifetime 1200;
  AdvLinkMTU 1400;
  AdvReachableTime 30000;
  AdvRetransTimer 1000;
  AdvCurHopLimit 63;
  AdvManagedFlag off;
  AdvOtherConfigFlag on;
  prefix fd5e:ed00:61::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 86400; AdvPreferredLifetime 14400; };
  prefix fd5e:ed00:62::/64 { AdvOnLink on; AdvAutonomous off; AdvValidLifetime 7200; AdvPreferredLifetime 3600; };
  RDNSS fd5e:ed00:61::53 fd5e:ed00:61::54 { AdvRDNSSLifetime 150; };
  DNSSL lab.example sonde.test { AdvDNSSLLifetime 180; };
  route fd5e:ed00:99::/48 { AdvRoutePreference low; AdvRouteLifetime 1800; };
};
`;

const norm = (a: string) => formatAddress(addressBytes(a).bytes, 6);
const inAuto = (a: string) => norm(a).startsWith('fd5e:ed00:61:0:') || norm(a).startsWith('fd5e:ed00:61::');

let lab: Lab | null = null;
const files = scratch();
after(() => {
  lab?.close();
  files.remove();
});

/**
 * rtr runs radvd on r0 and r1; cli has e0 (EUI-64), s0 (stable privacy), q0 (hand-made RAs
 * are injected there) and n0 (a link with no router at all).
 */
async function setUp(): Promise<Lab> {
  if (lab) return lab;
  const l = new Lab('sdndp');
  lab = l;
  l.addNs('rtr');
  l.addNs('cli');
  // A host, not a router: with forwarding on, the kernel would ignore RAs (accept_ra=1).
  l.sysctl('cli', 'net.ipv6.conf.all.forwarding', '0');
  l.link({ ns: 'rtr', ifname: 'sdndpr0', addrs: [] }, { ns: 'cli', ifname: 'sdndpe0', addrs: [] });
  l.link({ ns: 'rtr', ifname: 'sdndpr1', addrs: [] }, { ns: 'cli', ifname: 'sdndps0', addrs: [] });
  l.link({ ns: 'rtr', ifname: 'sdndpr2', addrs: ['fd5e:ed00:63::1/64'] }, { ns: 'cli', ifname: 'sdndpq0', addrs: [] });
  l.link({ ns: 'rtr', ifname: 'sdndpr3', addrs: [] }, { ns: 'cli', ifname: 'sdndpn0', addrs: [] });
  for (const i of ['sdndpe0', 'sdndps0', 'sdndpq0']) {
    l.sysctl('cli', `net.ipv6.conf.${i}.accept_ra`, '2');
    l.sysctl('cli', `net.ipv6.conf.${i}.autoconf`, '1');
  }
  l.sysctl('cli', 'net.ipv6.conf.sdndpe0.addr_gen_mode', '0');
  l.sysctl('cli', 'net.ipv6.conf.sdndps0.stable_secret', SECRET);
  l.sysctl('cli', 'net.ipv6.conf.sdndps0.addr_gen_mode', '2');
  const conf = files.write('radvd.conf', radvdConf('sdndpr0') + radvdConf('sdndpr1'));
  l.sysctl('rtr', 'net.ipv6.conf.all.forwarding', '1'); // radvd refuses to advertise otherwise
  l.spawn('rtr', ['radvd', '-n', '-C', conf, '-p', `${files.dir}/radvd.pid`, '-m', 'stderr']);
  // radvd's initial unsolicited RAs make the kernel form its addresses: the witness.
  const ready = await waitFor(() => ['sdndpe0', 'sdndps0'].every((i) => kernelAddresses(l, 'cli', i).some((a) => inAuto(a.local))));
  assert.ok(ready, 'the kernel in cli formed no SLAAC address from radvd within 30 s');
  return l;
}

async function discover(ifname: string, extra: string[] = []): Promise<{ code: number | null; report: DiscoverReport; stderr: string }> {
  const l = await setUp();
  const r = await sondeIn(l, 'cli', ['discover-v6', ifname, '--json', '--timeout', '2', ...extra]);
  return { code: r.code, report: JSON.parse(r.stdout) as DiscoverReport, stderr: r.stderr };
}

privilegedTest('discover-v6 reports exactly the router parameters radvd advertises', async () => {
  const { code, report, stderr } = await discover('sdndpe0');
  assert.equal(code, 0, stderr);
  const l = await setUp();
  assert.equal(report.interface, 'sdndpe0');
  assert.equal(report.source, linkLocalOf(l, 'cli', 'sdndpe0'), 'the RS is sent from our link-local address');
  assert.equal(report.routers.length, 1);
  const r = report.routers[0];
  assert.equal(r.address, linkLocalOf(l, 'rtr', 'sdndpr0'));
  assert.equal(r.source_lladdr, macOf(l, 'rtr', 'sdndpr0'));
  assert.deepEqual(
    { lifetime: r.lifetime, preference: r.preference, hop_limit: r.hop_limit, managed: r.managed, other: r.other, reachable_time: r.reachable_time, retrans_timer: r.retrans_timer, mtu: r.mtu },
    { lifetime: 1200, preference: 'high', hop_limit: 63, managed: false, other: true, reachable_time: 30000, retrans_timer: 1000, mtu: 1400 },
  );
  assert.deepEqual(
    r.prefixes.map((p) => ({ prefix: p.prefix, length: p.length, on_link: p.on_link, autonomous: p.autonomous, valid: p.valid_lifetime, preferred: p.preferred_lifetime })),
    [
      { prefix: 'fd5e:ed00:61::', length: 64, on_link: true, autonomous: true, valid: 86400, preferred: 14400 },
      { prefix: 'fd5e:ed00:62::', length: 64, on_link: true, autonomous: false, valid: 7200, preferred: 3600 },
    ],
  );
  assert.equal(r.prefixes[1].slaac, null, 'a non-autonomous prefix forms no address');
  assert.deepEqual(r.rdnss, [{ servers: ['fd5e:ed00:61::53', 'fd5e:ed00:61::54'], lifetime: 150 }]);
  assert.deepEqual(r.dnssl, [{ domains: ['lab.example', 'sonde.test'], lifetime: 180 }]);
  assert.deepEqual(r.routes, [{ prefix: 'fd5e:ed00:99::', length: 48, preference: 'low', lifetime: 1800 }]);
  assert.deepEqual(r.unknown_options, []);
  assert.equal(r.ignored_options, 0);
  assert.deepEqual(report.rejected, []);
});

privilegedTest('the EUI-64 proposal equals the address the kernel formed from the same RA', async () => {
  const { report } = await discover('sdndpe0');
  const l = await setUp();
  const kernel = kernelAddresses(l, 'cli', 'sdndpe0').filter((a) => inAuto(a.local));
  assert.equal(kernel.length, 1, JSON.stringify(kernel));
  const slaac = report.routers[0].prefixes[0].slaac;
  assert.ok(slaac?.eui64 && isIP(slaac.eui64) === 6);
  assert.equal(norm(slaac.eui64), norm(kernel[0].local));
  // and nothing from the non-autonomous prefix, in the kernel either
  assert.ok(!kernelAddresses(l, 'cli', 'sdndpe0').some((a) => norm(a.local).startsWith('fd5e:ed00:62:')));
});

privilegedTest('the stable privacy proposal equals the kernel RFC 7217 address under the same stable_secret', async () => {
  const { code, report } = await discover('sdndps0');
  assert.equal(code, 0);
  const l = await setUp();
  assert.equal(report.stable_secret.source, 'net.ipv6.conf.sdndps0.stable_secret');
  const kernel = kernelAddresses(l, 'cli', 'sdndps0').filter((a) => inAuto(a.local));
  assert.equal(kernel.length, 1, JSON.stringify(kernel));
  const slaac = report.routers[0].prefixes[0].slaac;
  assert.ok(slaac?.stable_privacy);
  assert.equal(norm(slaac.stable_privacy), norm(kernel[0].local));
  assert.notEqual(norm(slaac.stable_privacy), norm(slaac.eui64 ?? '::'), 'stable privacy does not embed the MAC');
});

privilegedTest('without a kernel stable_secret the output says a random per-run key was used', async () => {
  const { report } = await discover('sdndpe0');
  assert.equal(report.stable_secret.source, 'random');
  assert.match(report.stable_secret.note, /random per-run key/);
});

privilegedTest('RAs with hop limit below 255 or from a non-link-local source are rejected, not reported as routers', async () => {
  const l = await setUp();
  const py = files.write('inject.py', INJECT_RAS_PY);
  // RAs every 0.2 s for up to 30 s, from before discover-v6 starts until after it ends (killed then).
  const injector = l.spawn('rtr', ['python3', py, 'sdndpr2', 'fd5e:ed00:63::1', '150']);
  await new Promise<void>((resolve, reject) => {
    injector.stdout?.once('data', () => resolve());
    injector.once('exit', (code) => reject(new Error(`RA injector exited with ${code}`)));
  });
  const r = await sondeIn(l, 'cli', ['discover-v6', 'sdndpq0', '--json', '--timeout', '1.5']);
  injector.kill();
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as DiscoverReport;
  assert.equal(report.routers.length, 1);
  assert.equal(report.routers[0].address, linkLocalOf(l, 'rtr', 'sdndpr2'));
  assert.equal(report.routers[0].mtu, 1500, 'only the valid RA (MTU 1500) is a router');
  const reasons = new Set(report.rejected.map((x) => `${x.reason}/${x.hop_limit}`));
  assert.deepEqual([...reasons].sort(), ['hop_limit_not_255/64', 'source_not_link_local/255']);
  assert.ok(report.rejected.some((x) => norm(x.address) === 'fd5e:ed00:63::1'));
});

privilegedTest('a link without a router: exit 1 after the timeout, with no routers', async () => {
  const l = await setUp();
  const t0 = Date.now();
  const r = await sondeIn(l, 'cli', ['discover-v6', 'sdndpn0', '--timeout', '0.5', '--json']);
  assert.equal(r.code, 1, r.stderr);
  // It waited the timeout (and it ended on its own: sondeIn kills a run that does not, no exit code).
  const took = Date.now() - t0;
  assert.ok(took >= 500, `took ${took} ms`);
  const report = JSON.parse(r.stdout) as DiscoverReport;
  assert.deepEqual(report.routers, []);
  assert.equal(report.solicitations, 1, 'one RS within 0.5 s (the next is due 4 s later, RFC 4861 §10)');
});

privilegedTest('an unknown interface is a usage error (exit 2) that names it', async () => {
  const l = await setUp();
  const r = await sondeIn(l, 'cli', ['discover-v6', 'sdndpzz9']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown interface "sdndpzz9"/);
});
