// The SYN scan's lab: one target namespace behind a veth from the test's own namespace, with
// listeners on ports picked at random (IPv4 and IPv6), an nftables table in the target that
// silently drops SYNs to some ports and rejects one with ICMP admin-prohibited, and the truth of
// every port's state to check a scan against. Addresses: 198.18.241.0/24 and fd5e:ed00:241::/64.
import { randomInt } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../lab/netns';
import { waitFor } from '../lab/wait';

export const HOST4 = '198.18.241.1';
export const TARGET4 = '198.18.241.2';
export const HOST6 = 'fd5e:ed00:241::1';
export const TARGET6 = 'fd5e:ed00:241::2';

export interface Truth {
  /** per family: open ports, silently dropped ports, the admin-prohibited port */
  open4: number[];
  open6: number[];
  dropped: number[];
  rejected: number;
}

export interface SynLab {
  lab: Lab;
  truth: Truth;
  hostIf: string;
  /** expected state and reason of a port of the target (`family` 4 or 6) */
  expect(family: 4 | 6, port: number): { state: string; reason: string; icmpCode?: number };
  /** tx packets of the host-side veth so far */
  txPackets(): number;
  close(): void;
}

// A listener per (address, port); prints "ready" once all listen.
const LISTENER = `
const net = require('net');
const [addrs, ports] = [process.argv[1].split(','), process.argv[2].split(',').map(Number)];
let left = addrs.length;
for (let i = 0; i < addrs.length; i++) {
  const s = net.createServer((c) => c.destroy());
  s.listen({ host: addrs[i], port: ports[i], backlog: 4096, ipv6Only: addrs[i].includes(':') }, () => { if (--left === 0) console.log('ready'); });
}`;

function pickPorts(n: number, taken: Set<number>): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const p = randomInt(1, 65536);
    if (taken.has(p)) continue;
    taken.add(p);
    out.push(p);
  }
  return out;
}

export async function buildSynLab(prefix: string): Promise<SynLab> {
  const lab = new Lab(prefix);
  try {
    lab.addNs('t');
    const hostIf = `${prefix}h`;
    lab.link({ ns: null, ifname: hostIf, addrs: [`${HOST4}/24`, `${HOST6}/64`] }, { ns: 't', ifname: `${prefix}t`, addrs: [`${TARGET4}/24`, `${TARGET6}/64`] });
    const taken = new Set<number>();
    const truth: Truth = { open4: pickPorts(3, taken), open6: pickPorts(3, taken), dropped: pickPorts(3, taken), rejected: pickPorts(1, taken)[0] };
    lab.nft('t', `table inet synlab {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport { ${truth.dropped.join(', ')} } drop
    tcp dport ${truth.rejected} reject with icmpx admin-prohibited
  }
}
`);
    const addrs = [...truth.open4.map(() => TARGET4), ...truth.open6.map(() => TARGET6)];
    const child: ChildProcess = lab.spawn('t', [process.execPath, '-e', LISTENER, addrs.join(','), [...truth.open4, ...truth.open6].join(',')]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    if (!(await waitFor(() => out.includes('ready') || child.exitCode !== null, 30_000))) throw new Error('lab listeners did not start');
    if (!out.includes('ready')) throw new Error(`lab listeners exited (${child.exitCode})`);
    const txPackets = (): number => Number(lab.exec(null, ['cat', `/sys/class/net/${hostIf}/statistics/tx_packets`]).trim());
    return {
      lab,
      truth,
      hostIf,
      txPackets,
      expect(family, port) {
        if ((family === 4 ? truth.open4 : truth.open6).includes(port)) return { state: 'open', reason: 'syn-ack' };
        if (truth.dropped.includes(port)) return { state: 'filtered', reason: 'no-response' };
        if (port === truth.rejected) return { state: 'filtered', reason: 'admin-prohibited', icmpCode: family === 4 ? 13 : 1 };
        return { state: 'closed', reason: 'reset' };
      },
      close: () => lab.close(),
    };
  } catch (err) {
    lab.close();
    throw err;
  }
}
