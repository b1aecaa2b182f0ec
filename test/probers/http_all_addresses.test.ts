// all_addresses: a name with several addresses gets one result per address. The name lives only in
// a lab namespace: `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts, so the
// resolver there answers with both addresses, and the server answers differently on each.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab } from '../lab/netns';
import { SONDE_BIN } from '../lab/daemon';
import { privilegedTest } from '../lab/privileged';

const SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  // 200 on one address, 503 on the other: one result per address must tell them apart.
  res.writeHead(req.socket.localAddress === '127.0.0.2' ? 503 : 200);
  res.end('ok');
}).listen(8080, '0.0.0.0', () => console.log('listening'));
`;

privilegedTest('all_addresses probes every address of the name and fails when one fails', async () => {
  const lab = new Lab('sdhtma');
  const ns = lab.ns('p');
  const etc = `/etc/netns/${ns}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-alladdr-'));
  try {
    lab.addNs('p');
    mkdirSync(etc, { recursive: true });
    writeFileSync(path.join(etc, 'hosts'), '127.0.0.1 localhost\n127.0.0.1 multi.test\n127.0.0.2 multi.test\n');
    writeFileSync(path.join(dir, 'server.js'), SERVER);
    writeFileSync(
      path.join(dir, 'sonde.yml'),
      'modules:\n  every:\n    prober: http\n    timeout: 3s\n    http:\n      preferred_ip_protocol: ip4\n      ip_protocol_fallback: false\n      all_addresses: true\n',
    );
    const server = lab.spawn('p', [process.execPath, path.join(dir, 'server.js')]);
    await new Promise<void>((resolve, reject) => {
      server.stdout?.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`test server exited with ${code}`)));
    });
    const run = spawnSync('ip', ['netns', 'exec', ns, process.execPath, SONDE_BIN, 'probe', 'http://multi.test:8080/', '--config', path.join(dir, 'sonde.yml'), '--module', 'every', '--json'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 1, `a failed probe exits 1: ${run.stderr}`);
    const r = JSON.parse(run.stdout) as { success: boolean; reason: string; per_address: Array<{ address: string; success: boolean; reason: string | null; http: { statusCode: number } }> };
    assert.equal(r.success, false, 'one address failing fails the probe');
    assert.equal(r.reason, 'http_status');
    const byAddr = Object.fromEntries(r.per_address.map((c) => [c.address, [c.success, c.reason, c.http.statusCode]]));
    assert.deepEqual(byAddr, { '127.0.0.1': [true, null, 200], '127.0.0.2': [false, 'http_status', 503] });
  } finally {
    lab.close();
    rmSync(etc, { recursive: true, force: true });
  }
});
