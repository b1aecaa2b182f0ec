// The ICMP scenarios' lab (RFC 2544 range): host 198.18.126.1 -- 198.18.126.2 target namespace,
// which answers for all of 198.18.128.0/17 through one local route (no address per target to
// configure). ICMP rate limits apply to the target's replies (net.ipv4.icmp_ratelimit,
// icmp_msgs_per_sec); they are lifted in the target namespace, which fping faces as well.
import { Lab } from '../../test/lab/netns';

const PREFIX = 'sdbicm';
const HOST_ADDR = '198.18.126.1';
const TARGET_LINK = '198.18.126.2';
export const TARGET_RANGE = '198.18.128.0/17';
export const TARGET_SYSCTLS: Array<[string, string]> = [
  ['net.ipv4.icmp_ratelimit', '0'],
  ['net.ipv4.icmp_msgs_per_sec', '100000000'],
  ['net.ipv4.icmp_msgs_burst', '100000000'],
];

function targetAddress(i: number): string {
  return `198.18.${128 + (i >> 8)}.${i & 0xff}`;
}

/** The lab and its first `n` target addresses. */
export function buildIcmpLab(n: number): { lab: Lab; targets: string[] } {
  const lab = new Lab(PREFIX);
  try {
    lab.addNs('t');
    lab.link({ ns: null, ifname: `${PREFIX}h`, addrs: [`${HOST_ADDR}/24`] }, { ns: 't', ifname: `${PREFIX}t`, addrs: [`${TARGET_LINK}/24`] });
    lab.exec('t', ['ip', 'route', 'add', 'local', TARGET_RANGE, 'dev', 'lo']);
    lab.route(null, TARGET_RANGE, TARGET_LINK);
    for (const [k, v] of TARGET_SYSCTLS) lab.sysctl('t', k, v);
    // Skip .0 and .255 of each /24: some tools treat them as network/broadcast addresses.
    const targets: string[] = [];
    for (let i = 1; targets.length < n && i < 1 << 15; i++) if ((i & 0xff) !== 0 && (i & 0xff) !== 255) targets.push(targetAddress(i));
    return { lab, targets };
  } catch (err) {
    lab.close();
    throw err;
  }
}
