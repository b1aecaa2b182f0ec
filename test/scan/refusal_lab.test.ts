// A refused scan sends nothing: in a lab namespace whose route to the targets goes over a veth,
// every refusal (a target outside scan.allow, no --rate, bad port syntax, an exclude file that
// leaves nothing) exits 2 and the interface counters (which see packet-socket sends too, unlike
// nftables' output hook) do not move. A datagram sent by the test itself first shows they would.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SONDE_BIN } from '../lab/daemon';
import { Lab } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';

function run(lab: Lab, ns: string, argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', lab.ns(ns), ...argv], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

function txPackets(lab: Lab, ns: string, ifname: string): number {
  return Number(lab.exec(ns, ['cat', `/sys/class/net/${ifname}/statistics/tx_packets`]).trim());
}

privilegedTest('refused scans exit 2 and send no packet (interface counters before and after)', async () => {
  const lab = new Lab('sdscr');
  try {
    lab.addNs('a');
    lab.addNs('b');
    // No IPv6 on the link: no neighbour or router solicitations move the counter by themselves.
    lab.link({ ns: 'a', ifname: 'sdscr-a0', addrs: ['198.18.60.1/24'] }, { ns: 'b', ifname: 'sdscr-b0', addrs: ['198.18.60.2/24'] });
    for (const [ns, ifname] of [['a', 'sdscr-a0'], ['b', 'sdscr-b0']]) lab.sysctl(ns, `net.ipv6.conf.${ifname}.disable_ipv6`, '1');
    lab.exec('a', ['ip', 'route', 'add', '198.18.0.0/15', 'via', '198.18.60.2']);
    lab.exec('a', ['ip', 'neigh', 'replace', '198.18.60.2', 'lladdr', lab.exec('b', ['cat', '/sys/class/net/sdscr-b0/address']).trim(), 'dev', 'sdscr-a0', 'nud', 'permanent']);

    // The counter moves for a packet that does leave (a datagram of the test's own).
    const before0 = txPackets(lab, 'a', 'sdscr-a0');
    const sent = await run(lab, 'a', [process.execPath, '-e', "const s=require('dgram').createSocket('udp4');s.send('x',9,'198.18.61.9',()=>s.close())"]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(txPackets(lab, 'a', 'sdscr-a0') - before0, 1, 'the counter sees a packet sent over the veth');

    const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-scan-lab-'));
    const cfg = path.join(dir, 'lab.yml');
    writeFileSync(cfg, 'scan:\n  allow: [198.18.61.0/24]\n');
    const ex = path.join(dir, 'ex.txt');
    writeFileSync(ex, '# everything\n198.18.61.0/24\n');
    const cases: Array<[string, string[], RegExp]> = [
      ['outside the default allow list', ['198.18.61.9', '-p', '22', '--rate', '1000'], /outside the allowed ranges/],
      ['outside the config allow list', ['198.18.62.9', '-p', '22', '--rate', '1000', '--config', cfg], /target "198\.18\.62\.9" is outside/],
      ['no --rate', ['198.18.61.9', '-p', '22', '--config', cfg], /--rate is required/],
      ['bad port syntax', ['198.18.61.9', '-p', '22,0', '--rate', '1000', '--config', cfg], /port "0"/],
      ['an exclude file leaving nothing', ['198.18.61.9', '-p', '22', '--rate', '1000', '--config', cfg, '--exclude', ex], /every target is excluded/],
      ['an IPv6 target outside allow', ['fd5e:ed00::9', '-p', '22', '--rate', '1000', '--config', cfg], /target "fd5e:ed00::9" is outside/],
    ];
    for (const [what, argv, re] of cases) {
      const tx = txPackets(lab, 'a', 'sdscr-a0');
      const lo = txPackets(lab, 'a', 'lo');
      const r = await run(lab, 'a', [process.execPath, SONDE_BIN, 'scan', ...argv]);
      assert.equal(r.code, 2, `${what}: exit ${r.code} (${r.stderr})`);
      assert.match(r.stderr, re, what);
      assert.equal(txPackets(lab, 'a', 'sdscr-a0') - tx, 0, `${what}: packets sent on the veth`);
      assert.equal(txPackets(lab, 'a', 'lo') - lo, 0, `${what}: packets sent on loopback`);
    }
  } finally {
    lab.close();
  }
});
