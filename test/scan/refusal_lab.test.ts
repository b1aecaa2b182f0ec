// A refused scan sends nothing: in a lab namespace whose routes to the targets (IPv4 and IPv6) go
// over a veth, every refusal (a target outside scan.allow, no --rate, bad port syntax, an exclude
// file that leaves nothing) exits 2, and an nftables counter of TCP packets on the far side of the
// veth (which sees whatever reached the wire, packet-socket sends included) stays at 0. A TCP
// connect of the test's own first shows the counter would count a SYN.
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

function tcpArrived(lab: Lab): number {
  const out = lab.exec('b', ['nft', 'list', 'chain', 'inet', 'sdscr', 'in']);
  return [...out.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

function loTx(lab: Lab): number {
  return Number(lab.exec('a', ['cat', '/sys/class/net/lo/statistics/tx_packets']).trim());
}

privilegedTest('refused scans exit 2 and send no packet (a counter on the far side of the link)', async () => {
  const lab = new Lab('sdscr');
  try {
    lab.addNs('a');
    lab.addNs('b');
    lab.link({ ns: 'a', ifname: 'sdscr-a0', addrs: ['198.18.60.1/24', 'fd5e:ed00:60::1/64'] }, { ns: 'b', ifname: 'sdscr-b0', addrs: ['198.18.60.2/24', 'fd5e:ed00:60::2/64'] });
    lab.route('a', '198.18.0.0/15', '198.18.60.2');
    lab.route('a', 'fd5e:ed00::/32', 'fd5e:ed00:60::2');
    lab.nft('b', 'table inet sdscr {\n chain in {\n type filter hook prerouting priority -300;\n meta l4proto tcp counter\n }\n}\n');

    // The counter moves for a SYN that does leave (a connect of the test's own, refused or not).
    const syn = await run(lab, 'a', [process.execPath, '-e', "require('net').connect(22,'198.18.61.9').on('error',()=>{}).setTimeout(300,function(){this.destroy()})"]);
    assert.equal(syn.code, 0, syn.stderr);
    assert.ok(tcpArrived(lab) >= 1, 'the counter sees a SYN sent over the veth');

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
      ['source ports inside the kernel\'s ephemeral range (the engine refuses the spec)', ['198.18.61.9', '-p', '22', '--rate', '1000', '--config', cfg, '--source-port', '40000-40100'], /overlap the kernel's ephemeral range/],
      ['an IPv6 target outside allow', ['fd5e:ed00:61::9', '-p', '22', '--rate', '1000', '--config', cfg], /target "fd5e:ed00:61::9" is outside/],
    ];
    for (const [what, argv, re] of cases) {
      const tcp = tcpArrived(lab);
      const lo = loTx(lab);
      const r = await run(lab, 'a', [process.execPath, SONDE_BIN, 'scan', ...argv]);
      assert.equal(r.code, 2, `${what}: exit ${r.code} (${r.stderr})`);
      assert.match(r.stderr, re, what);
      assert.equal(tcpArrived(lab) - tcp, 0, `${what}: TCP packets that reached the far side`);
      assert.equal(loTx(lab) - lo, 0, `${what}: packets sent on loopback`);
    }
  } finally {
    lab.close();
  }
});

privilegedTest('a scan that cannot open its packet socket (no CAP_NET_RAW) fails at run time: exit 1, one line', async () => {
  // Root without CAP_NET_RAW for this one run (setpriv from util-linux): still root, so the checkout stays readable.
  const r = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
    execFile('setpriv', ['--bounding-set=-net_raw', '--inh-caps=-net_raw', process.execPath, SONDE_BIN, 'scan', '127.0.0.1', '-p', '22', '--rate', '10'], { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^sonde scan: cannot start the SYN engine: .*CAP_NET_RAW.*\n$/);
  assert.equal(r.stdout, '');
});
