// Fault lab for the eBPF attribution tests (issue 4): probe host, one router, one target.
//
//   root netns (probe host)            router (<prefix>-rtr)               target (<prefix>-tgt)
//   <p>p0 198.19.240.1/24  ----------  <p>r0 198.19.240.2/24
//   <p>p1 198.19.242.1/24  ----------  <p>r2 198.19.242.2/24
//                                      <p>r1 198.19.241.1/24  ----------  <p>t0 198.19.241.2/24
//
// The probe host is the test's own (root) network namespace: that is where the daemon runs in
// production, where the tracer's process lives (so its netns inode is "local"), and where the XDP
// observer can attach by ifindex. Everything done there is scoped to the lab's interfaces and addresses
// (198.19.240.0/22, part of RFC 2544's 198.18.0.0/15) and removed in close(). The second link p1/r2
// only exists to build an asymmetric return path for the rp_filter scenario.
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { Lab } from './netns';

export const PROBE_ADDR = '198.19.240.1';
export const TARGET_ADDR = '198.19.241.2';
export const ROUTER_P0 = '198.19.240.2';
export const ROUTER_P1 = '198.19.242.2';

/** Target services (UDP unless noted). */
export const PORTS = { echo: 7, delayedEcho: 8, burst: 9, tcp: 80 } as const;
export const BURST_COUNT = 100;
export const BURST_SIZE = 1000;
// Long enough that a probe socket closed 20 ms after sending is surely gone when the echo comes back.
export const ECHO_DELAY_MS = 1000;

// Runs in the target namespace under `node -e`: UDP echo, delayed echo, burst replies, a TCP listener.
const SERVICES = `
const dgram = require('node:dgram'), net = require('node:net');
let up = 0; const ready = () => { if (++up === 4) console.log('ready'); };
const echo = dgram.createSocket('udp4'); echo.on('message', (m, r) => echo.send(m, r.port, r.address)); echo.bind(${PORTS.echo}, '${TARGET_ADDR}', ready);
const slow = dgram.createSocket('udp4'); slow.on('message', (m, r) => setTimeout(() => slow.send(m, r.port, r.address), ${ECHO_DELAY_MS})); slow.bind(${PORTS.delayedEcho}, '${TARGET_ADDR}', ready);
const burst = dgram.createSocket('udp4'); burst.on('message', (m, r) => { const b = Buffer.alloc(${BURST_SIZE}, 0x5a); for (let i = 0; i < ${BURST_COUNT}; i++) burst.send(b, r.port, r.address); }); burst.bind(${PORTS.burst}, '${TARGET_ADDR}', ready);
net.createServer((s) => { s.on('error', () => {}); s.end(); }).listen(${PORTS.tcp}, '${TARGET_ADDR}', ready);
setTimeout(() => process.exit(0), 600000).unref();
`;

export class FaultLab {
  readonly lab: Lab;
  private services?: ChildProcess;
  private readonly tables: string[] = [];

  constructor(readonly prefix = 'sdbpf') {
    this.lab = new Lab(prefix);
    // A crashed earlier run may have left its tables in the root netns.
    for (const t of ['in', 'out', 'fwd']) this.lab.exec(null, ['nft', 'delete', 'table', 'inet', `${prefix}_${t}`], { allowFail: true });
  }

  get p0(): string {
    return `${this.prefix}p0`;
  }

  get p1(): string {
    return `${this.prefix}p1`;
  }

  ifindex(ifname: string): number {
    return Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8').trim());
  }

  async start(): Promise<void> {
    const L = this.lab;
    const p = this.prefix;
    L.addNs('rtr');
    L.addNs('tgt');
    L.link({ ns: null, ifname: `${p}p0`, addrs: [`${PROBE_ADDR}/24`] }, { ns: 'rtr', ifname: `${p}r0`, addrs: [`${ROUTER_P0}/24`] });
    L.link({ ns: null, ifname: `${p}p1`, addrs: ['198.19.242.1/24'] }, { ns: 'rtr', ifname: `${p}r2`, addrs: [`${ROUTER_P1}/24`] });
    L.link({ ns: 'rtr', ifname: `${p}r1`, addrs: ['198.19.241.1/24'] }, { ns: 'tgt', ifname: `${p}t0`, addrs: [`${TARGET_ADDR}/24`] });
    L.route(null, '198.19.241.0/24', ROUTER_P0);
    L.route('tgt', '198.19.240.0/22', '198.19.241.1');
    this.services = L.spawn('tgt', [process.execPath, '-e', SERVICES]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('lab services did not start in 60 s')), 60_000);
      let out = '';
      this.services!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.services!.on('exit', (code) => reject(new Error(`lab services exited with ${code}`)));
    });
  }

  /** nftables drop rule in the probe host (root netns), scoped to the lab: hook input or output. */
  dropLocal(hook: 'input' | 'output', match: string): void {
    const table = `${this.prefix}_${hook === 'input' ? 'in' : 'out'}`;
    const dev = hook === 'input' ? `iifname "${this.p0}"` : `oifname "${this.p0}"`;
    this.lab.nft(null, `table inet ${table} {\n chain c { type filter hook ${hook} priority 0; ${dev} ${match} drop; }\n}\n`);
    this.tables.push(table);
  }

  /** nftables drop rule in the router's forward chain (another netns: path loss for the probe host). */
  dropInRouter(match: string): void {
    this.lab.nft('rtr', `table inet ${this.prefix}_fwd {\n chain c { type filter hook forward priority 0; ${match} drop; }\n}\n`);
  }

  clearRules(): void {
    for (const t of this.tables.splice(0)) this.lab.exec(null, ['nft', 'delete', 'table', 'inet', t], { allowFail: true });
    this.lab.exec('rtr', ['nft', 'delete', 'table', 'inet', `${this.prefix}_fwd`], { allowFail: true });
  }

  /**
   * Asymmetric return path with strict reverse-path filtering (RFC 3704 strict mode): requests to the
   * target leave by p1, replies come back on p0, and rp_filter=1 on p0 drops them (IP_RPFILTER).
   */
  asymmetricRpFilter(on: boolean): void {
    this.lab.sysctl(null, `net.ipv4.conf.${this.p0}.rp_filter`, on ? '1' : '0');
    if (on) this.lab.exec(null, ['ip', 'route', 'replace', `${TARGET_ADDR}/32`, 'via', ROUTER_P1, 'dev', this.p1, 'src', PROBE_ADDR]);
    else this.lab.exec(null, ['ip', 'route', 'del', `${TARGET_ADDR}/32`], { allowFail: true });
  }

  close(): void {
    this.clearRules();
    this.asymmetricRpFilter(false);
    this.lab.close();
  }
}
