// The ECMP lab: r1 has two equal-cost next hops towards the target (r2a and r2b) and hashes
// flows over them by their 5-tuple (fib_multipath_hash_policy=1, Documentation/networking/
// ip-sysctl.rst), as a real ECMP router does. Subnets 198.19.211-216.0/24 and
// fd5e:ed00:3211-3216::/64 are this lab's own.
//
//                                  .212.2 r2a .214.1
//   host .211.1 ── .211.2 r1 ─<                      >─ r3 .216.1 ── .216.2 t
//                                  .213.2 r2b .215.1
import { Lab } from './netns';
import { linkNet, routeNet, unlimitIcmpErrors, v4, v6 } from './routed';

export interface EcmpLab {
  lab: Lab;
  target4: string;
  target6: string;
  /** the router before the split (TTL 1) */
  r1: { v4: string; v6: string };
  /** the two parallel routers (TTL 2), as they answer: their address facing r1 */
  parallel4: [string, string];
  parallel6: [string, string];
  close(): void;
}

export function buildEcmpLab(prefix = 'sdecmp'): EcmpLab {
  const lab = new Lab(prefix);
  try {
    for (const n of ['r1', 'r2a', 'r2b', 'r3', 't']) lab.addNs(n);
    linkNet(lab, prefix, null, 'h', 'r1', 'r1a', 211);
    linkNet(lab, prefix, 'r1', 'r1b', 'r2a', 'ax', 212);
    linkNet(lab, prefix, 'r1', 'r1c', 'r2b', 'bx', 213);
    linkNet(lab, prefix, 'r2a', 'ay', 'r3', 'r3a', 214);
    linkNet(lab, prefix, 'r2b', 'by', 'r3', 'r3b', 215);
    linkNet(lab, prefix, 'r3', 'r3c', 't', 'ta', 216);
    for (const net of [212, 213, 214, 215, 216]) routeNet(lab, null, net, 211, 2);
    // The split: two equal-cost next hops, hashed on L4 (ports) for IPv4 and IPv6.
    lab.exec('r1', ['ip', 'route', 'replace', `${v4(216, 0)}/24`, 'nexthop', 'via', v4(212, 2), 'nexthop', 'via', v4(213, 2)]);
    lab.exec('r1', ['ip', '-6', 'route', 'replace', `${v6(216, 0)}/64`, 'nexthop', 'via', v6(212, 2), 'nexthop', 'via', v6(213, 2)]);
    lab.sysctl('r1', 'net.ipv4.fib_multipath_hash_policy', '1');
    lab.sysctl('r1', 'net.ipv6.fib_multipath_hash_policy', '1');
    for (const [r, up, down] of [['r2a', 214, 212], ['r2b', 215, 213]] as const) {
      routeNet(lab, r, 216, up, 2);
      routeNet(lab, r, 211, down, 1);
    }
    // Back to the host: always through r2a (the return path does not matter to the trace).
    routeNet(lab, 'r3', 'default', 214, 1);
    routeNet(lab, 't', 'default', 216, 1);
    unlimitIcmpErrors(lab, ['r1', 'r2a', 'r2b', 'r3', 't']);
    return {
      lab,
      target4: v4(216, 2),
      target6: v6(216, 2),
      r1: { v4: v4(211, 2), v6: v6(211, 2) },
      parallel4: [v4(212, 2), v4(213, 2)],
      parallel6: [v6(212, 2), v6(213, 2)],
      close: () => lab.close(),
    };
  } catch (err) {
    lab.close();
    throw err;
  }
}
