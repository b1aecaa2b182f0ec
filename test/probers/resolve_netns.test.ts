// Resolution on a host whose DNS server is down, as blackbox_exporter resolves there: hosts-file
// names and localhost names succeed with the default ip6 preference and fallback, and not one DNS
// query leaves. The lab namespace's resolv.conf names 127.0.0.1, where nothing listens on port 53
// (`ip netns exec` bind-mounts /etc/netns/NS/{resolv.conf,hosts} over /etc's), and an nftables
// counter there counts every packet sent to port 53. A name the hosts file lacks is the control:
// it must be asked of DNS (the counter moves) and fail with a resolver reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab } from '../lab/netns';
import { SONDE_BIN } from '../lab/daemon';
import { privilegedTest } from '../lab/privileged';

// Dual-stack on one port: localhost answers ::1 with ip6 preferred (RFC 6761), hosts names 127.0.0.1.
const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => res.end('ok'));
s.listen(8080, '::', () => console.log('listening'));
`;

const COUNTER = `
table inet sdres {
  counter dns {}
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 53 counter name dns
    tcp dport 53 counter name dns
  }
}
`;

interface ProbeJSON {
  success: boolean;
  reason: string | null;
  message?: string;
  address?: string;
}

privilegedTest('hosts-file and localhost names resolve without a DNS query when the DNS server is down', async () => {
  const lab = new Lab('sdres');
  const ns = lab.ns('a');
  const etcNetns = '/etc/netns';
  const madeEtcNetns = !existsSync(etcNetns);
  const etc = path.join(etcNetns, ns);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-resolve-'));
  try {
    lab.addNs('a');
    mkdirSync(etc, { recursive: true });
    // glibc gives up at once on a refused port; timeout:1 bounds it if the refusal were lost.
    writeFileSync(path.join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    writeFileSync(path.join(etc, 'hosts'), '# lab names only: no localhost entry here\n127.0.0.1 web.sonde.test web-alias\n');
    lab.nft('a', COUNTER);
    const queries = (): number => Number(/packets (\d+)/.exec(lab.exec('a', ['nft', 'list', 'counter', 'inet', 'sdres', 'dns']))?.[1] ?? NaN);
    writeFileSync(path.join(dir, 'server.js'), SERVER);
    const server = lab.spawn('a', [process.execPath, path.join(dir, 'server.js')]);
    await new Promise<void>((resolve, reject) => {
      server.stdout?.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`test server exited with ${code}`)));
    });
    const probe = (target: string): ProbeJSON => {
      const run = spawnSync('ip', ['netns', 'exec', ns, process.execPath, SONDE_BIN, 'probe', target, '--timeout', '20', '--json'], { encoding: 'utf8', timeout: 60_000 });
      assert.ok(run.status === 0 || run.status === 1, `sonde probe ${target} exited ${run.status}: ${run.stderr}`);
      return JSON.parse(run.stdout) as ProbeJSON;
    };

    assert.equal(queries(), 0);
    const good: Array<{ desc: string; target: string; address: string }> = [
      { desc: 'http_2xx (ip6 preferred, fallback) to an IPv4-only hosts name', target: 'http://web.sonde.test:8080/', address: '127.0.0.1' },
      { desc: 'a hosts alias, in upper case with a trailing dot', target: 'http://WEB-ALIAS.:8080/', address: '127.0.0.1' },
      { desc: 'tcp_connect (ip6 preferred, fallback) to a hosts name', target: 'web.sonde.test:8080', address: '127.0.0.1' },
      { desc: 'localhost, not in this hosts file: ::1 for ip6', target: 'http://localhost:8080/', address: '::1' },
      { desc: 'a name under localhost', target: 'http://app.localhost:8080/', address: '::1' },
    ];
    for (const c of good) {
      const r = probe(c.target);
      assert.equal(r.success, true, `${c.desc}: ${r.reason} ${r.message}`);
      assert.equal(r.address, c.address, `${c.desc}: the address probed`);
      assert.equal(queries(), 0, `${c.desc}: no DNS query`);
    }

    // The control: a name only DNS could answer is asked there, and the refused query is a resolver
    // failure (not "no such name"), reported after both families were tried.
    const r = probe('http://absent.sonde.test:8080/');
    assert.equal(r.success, false);
    assert.ok(r.reason === 'dns_error' || r.reason === 'dns_timeout', `absent name: ${r.reason} ${r.message}`);
    assert.match(r.message ?? '', /IPv6.*IPv4/, 'both families were tried');
    assert.ok(queries() > 0, 'the counter sees the queries a name outside the hosts file needs');
  } finally {
    lab.close();
    rmSync(etc, { recursive: true, force: true });
    if (madeEtcNetns && existsSync(etcNetns) && readdirSync(etcNetns).length === 0) rmSync(etcNetns, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
