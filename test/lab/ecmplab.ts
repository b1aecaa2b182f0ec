// The ECMP lab: r1 has two equal-cost next hops towards the target (r2a and r2b) and hashes
// flows over them by their 5-tuple (fib_multipath_hash_policy=1, Documentation/networking/
// ip-sysctl.rst), as a real ECMP router does. Subnets 198.19.211-216.0/24 and
// fd5e:ed00:3211-3216::/64 are this lab's own.
//
//                                  .212.2 r2a .214.1
//   host .211.1 ── .211.2 r1 ─<                      >─ r3 .216.1 ── .216.2 t
//                                  .213.2 r2b .215.1
import { Lab } from './netns';

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

const v4 = (net: number, host: number) => `198.19.${net}.${host}`;
const v6 = (net: number, host: number) => `fd5e:ed00:${net + 3000}::${host.toString(16)}`;

export function buildEcmpLab(prefix = 'sdecmp'): EcmpLab {
  const lab = new Lab(prefix);
  try {
    for (const n of ['r1', 'r2a', 'r2b', 'r3', 't']) lab.addNs(n);
    const link = (a: string | null, ai: string, b: string, bi: string, net: number) =>
      lab.link(
        { ns: a, ifname: `${prefix}${ai}`, addrs: [`${v4(net, 1)}/24`, `${v6(net, 1)}/64`] },
        { ns: b, ifname: `${prefix}${bi}`, addrs: [`${v4(net, 2)}/24`, `${v6(net, 2)}/64`] },
      );
    link(null, 'h', 'r1', 'r1a', 211);
    link('r1', 'r1b', 'r2a', 'ax', 212);
    link('r1', 'r1c', 'r2b', 'bx', 213);
    link('r2a', 'ay', 'r3', 'r3a', 214);
    link('r2b', 'by', 'r3', 'r3b', 215);
    link('r3', 'r3c', 't', 'ta', 216);
    for (const net of [212, 213, 214, 215, 216]) {
      lab.route(null, `${v4(net, 0)}/24`, v4(211, 2));
      lab.route(null, `${v6(net, 0)}/64`, v6(211, 2));
    }
    // The split: two equal-cost next hops, hashed on L4 (ports) for IPv4 and IPv6.
    lab.exec('r1', ['ip', 'route', 'replace', `${v4(216, 0)}/24`, 'nexthop', 'via', v4(212, 2), 'nexthop', 'via', v4(213, 2)]);
    lab.exec('r1', ['ip', '-6', 'route', 'replace', `${v6(216, 0)}/64`, 'nexthop', 'via', v6(212, 2), 'nexthop', 'via', v6(213, 2)]);
    lab.sysctl('r1', 'net.ipv4.fib_multipath_hash_policy', '1');
    lab.sysctl('r1', 'net.ipv6.fib_multipath_hash_policy', '1');
    for (const [r, up, down] of [['r2a', 214, 212], ['r2b', 215, 213]] as const) {
      lab.route(r, `${v4(216, 0)}/24`, v4(up, 2));
      lab.route(r, `${v6(216, 0)}/64`, v6(up, 2));
      lab.route(r, `${v4(211, 0)}/24`, v4(down, 1));
      lab.route(r, `${v6(211, 0)}/64`, v6(down, 1));
    }
    // Back to the host: always through r2a (the return path does not matter to the trace).
    lab.route('r3', 'default', v4(214, 1));
    lab.route('r3', '::/0', v6(214, 1));
    lab.route('t', 'default', v4(216, 1));
    lab.route('t', '::/0', v6(216, 1));
    for (const n of ['r1', 'r2a', 'r2b', 'r3', 't']) {
      lab.sysctl(n, 'net.ipv4.icmp_ratelimit', '0');
      lab.sysctl(n, 'net.ipv6.icmp.ratelimit', '0');
    }
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
