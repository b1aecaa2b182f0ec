// The ICMP lab: the test process (root namespace) reaches a target namespace through a chain of
// three routers, every hop with known IPv4 and IPv6 addresses. Subnets 198.19.201-205.0/24 and
// fd5e:ed00:3201-3205::/64 are this lab's own (issue 3), so other labs in the root namespace do
// not collide with its routes.
//
//   host .201.1 ── .201.2 r1 .202.1 ── .202.2 r2 .203.1 ── .203.2 r3 .204.1 ── .204.2 t
//                                                               (t also owns 198.19.205.1-254 on lo)
import { Lab } from './netns';

export interface IcmpLab {
  lab: Lab;
  /** the target's own address on its link */
  target4: string;
  target6: string;
  /** router addresses that face the host (the source of the ICMP errors they send back) */
  routers4: [string, string, string];
  routers6: [string, string, string];
  /** 254 extra target addresses (198.19.205.1-254 and fd5e:ed00:3205::1-fe) */
  many4: string[];
  many6: string[];
  close(): void;
}

const v4 = (net: number, host: number) => `198.19.${net}.${host}`;
const v6 = (net: number, host: number) => `fd5e:ed00:${net + 3000}::${host.toString(16)}`;

export function buildIcmpLab(prefix = 'sdicmp'): IcmpLab {
  const lab = new Lab(prefix);
  try {
    for (const n of ['r1', 'r2', 'r3', 't']) lab.addNs(n);
    const hop = (a: string | null, ai: string, b: string, bi: string, net: number) =>
      lab.link(
        { ns: a, ifname: `${prefix}${ai}`, addrs: [`${v4(net, 1)}/24`, `${v6(net, 1)}/64`] },
        { ns: b, ifname: `${prefix}${bi}`, addrs: [`${v4(net, 2)}/24`, `${v6(net, 2)}/64`] },
      );
    hop(null, 'h', 'r1', 'r1a', 201);
    hop('r1', 'r1b', 'r2', 'r2a', 202);
    hop('r2', 'r2b', 'r3', 'r3a', 203);
    hop('r3', 'r3b', 't', 'ta', 204);
    for (const net of [202, 203, 204, 205]) {
      lab.route(null, `${v4(net, 0)}/24`, v4(201, 2));
      lab.route(null, `${v6(net, 0)}/64`, v6(201, 2));
    }
    // Towards the target: each router forwards to the next; back: to the previous.
    lab.route('r1', 'default', v4(202, 2));
    lab.route('r1', '::/0', v6(202, 2));
    lab.route('r2', 'default', v4(203, 2));
    lab.route('r2', '::/0', v6(203, 2));
    lab.route('r2', `${v4(201, 0)}/24`, v4(202, 1));
    lab.route('r2', `${v6(201, 0)}/64`, v6(202, 1));
    for (const net of [201, 202]) {
      lab.route('r3', `${v4(net, 0)}/24`, v4(203, 1));
      lab.route('r3', `${v6(net, 0)}/64`, v6(203, 1));
    }
    lab.route('r3', `${v4(205, 0)}/24`, v4(204, 2));
    lab.route('r3', `${v6(205, 0)}/64`, v6(204, 2));
    lab.route('t', 'default', v4(204, 1));
    lab.route('t', '::/0', v6(204, 1));
    const many4: string[] = [];
    const many6: string[] = [];
    const batch: string[] = [];
    for (let h = 1; h <= 254; h++) {
      many4.push(v4(205, h));
      many6.push(v6(205, h));
      batch.push(`addr add ${v4(205, h)}/32 dev lo`, `addr add ${v6(205, h)}/128 dev lo nodad`);
    }
    lab.exec('t', ['ip', '-batch', '-'], { input: `${batch.join('\n')}\n` });
    // Routers answer with ICMP errors at the test's pace, not the kernel's 1/s default per source.
    for (const n of ['r1', 'r2', 'r3', 't']) {
      lab.sysctl(n, 'net.ipv4.icmp_ratelimit', '0');
      lab.sysctl(n, 'net.ipv6.icmp.ratelimit', '0');
    }
    return {
      lab,
      target4: v4(204, 2),
      target6: v6(204, 2),
      routers4: [v4(201, 2), v4(202, 2), v4(203, 2)],
      routers6: [v6(201, 2), v6(202, 2), v6(203, 2)],
      many4,
      many6,
      close: () => lab.close(),
    };
  } catch (err) {
    lab.close();
    throw err;
  }
}
