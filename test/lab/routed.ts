// What the routed netns labs (icmplab.ts, ecmplab.ts) build the same way: dual-stack subnets
// 198.19.<net>.0/24 and fd5e:ed00:<net + 3000>::/64 (net picks the lab's own range), links with
// the .1/::1 end on one side and .2/::2 on the other, routes set for both families at once, and
// routers that send ICMP errors at the test's pace.
import type { Lab } from './netns';

export const v4 = (net: number, host: number): string => `198.19.${net}.${host}`;
export const v6 = (net: number, host: number): string => `fd5e:ed00:${net + 3000}::${host.toString(16)}`;

/** A veth pair on subnet `net`: `a` (null: the root namespace) gets host 1, `b` host 2. */
export function linkNet(lab: Lab, prefix: string, a: string | null, ai: string, b: string, bi: string, net: number): void {
  lab.link(
    { ns: a, ifname: `${prefix}${ai}`, addrs: [`${v4(net, 1)}/24`, `${v6(net, 1)}/64`] },
    { ns: b, ifname: `${prefix}${bi}`, addrs: [`${v4(net, 2)}/24`, `${v6(net, 2)}/64`] },
  );
}

/** Routes subnet `to` (or the default route) in namespace `ns` via host `viaHost` of subnet `viaNet`, IPv4 and IPv6. */
export function routeNet(lab: Lab, ns: string | null, to: number | 'default', viaNet: number, viaHost: number): void {
  lab.route(ns, to === 'default' ? 'default' : `${v4(to, 0)}/24`, v4(viaNet, viaHost));
  lab.route(ns, to === 'default' ? '::/0' : `${v6(to, 0)}/64`, v6(viaNet, viaHost));
}

/**
 * Routers answer with ICMP errors at the test's pace: not the kernel's per-destination limit (1/s
 * after a burst), nor its per-namespace global one (icmp_msgs_per_sec 1000, burst 50).
 */
export function unlimitIcmpErrors(lab: Lab, namespaces: string[]): void {
  for (const n of namespaces) {
    lab.sysctl(n, 'net.ipv4.icmp_ratelimit', '0');
    lab.sysctl(n, 'net.ipv6.icmp.ratelimit', '0');
    lab.sysctl(n, 'net.ipv4.icmp_msgs_per_sec', '1000000');
    lab.sysctl(n, 'net.ipv4.icmp_msgs_burst', '1000000');
  }
}
