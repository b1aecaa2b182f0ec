// The ICMP lab: the test process (root namespace) reaches a target namespace through a chain of
// three routers, every hop with known IPv4 and IPv6 addresses. Subnets 198.19.201-205.0/24 and
// fd5e:ed00:3201-3205::/64 are this lab's own (issue 3), so other labs in the root namespace do
// not collide with its routes.
//
//   host .201.1 ── .201.2 r1 .202.1 ── .202.2 r2 .203.1 ── .203.2 r3 .204.1 ── .204.2 t
//                                                               (t also owns 198.19.205.1-254 on lo)
import { Lab } from './netns';
import { linkNet, routeNet, unlimitIcmpErrors, v4, v6 } from './routed';

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

/** kernelIcmpLimits: keep the namespaces' default ICMP rate limits (the routers answer at their own pace). */
export function buildIcmpLab(prefix = 'sdicmp', opts: { kernelIcmpLimits?: boolean } = {}): IcmpLab {
  const lab = new Lab(prefix);
  try {
    for (const n of ['r1', 'r2', 'r3', 't']) lab.addNs(n);
    linkNet(lab, prefix, null, 'h', 'r1', 'r1a', 201);
    linkNet(lab, prefix, 'r1', 'r1b', 'r2', 'r2a', 202);
    linkNet(lab, prefix, 'r2', 'r2b', 'r3', 'r3a', 203);
    linkNet(lab, prefix, 'r3', 'r3b', 't', 'ta', 204);
    for (const net of [202, 203, 204, 205]) routeNet(lab, null, net, 201, 2);
    // Towards the target: each router forwards to the next; back: to the previous.
    routeNet(lab, 'r1', 'default', 202, 2);
    routeNet(lab, 'r2', 'default', 203, 2);
    routeNet(lab, 'r2', 201, 202, 1);
    for (const net of [201, 202]) routeNet(lab, 'r3', net, 203, 1);
    routeNet(lab, 'r3', 205, 204, 2);
    routeNet(lab, 't', 'default', 204, 1);
    const many4: string[] = [];
    const many6: string[] = [];
    const batch: string[] = [];
    for (let h = 1; h <= 254; h++) {
      many4.push(v4(205, h));
      many6.push(v6(205, h));
      batch.push(`addr add ${v4(205, h)}/32 dev lo`, `addr add ${v6(205, h)}/128 dev lo nodad`);
    }
    lab.exec('t', ['ip', '-batch', '-'], { input: `${batch.join('\n')}\n` });
    if (!opts.kernelIcmpLimits) unlimitIcmpErrors(lab, ['r1', 'r2', 'r3', 't']);
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
