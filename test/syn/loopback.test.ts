// The SYN engine on loopback (IPv4 and IPv6: the raw-socket send path, packet-socket receive on
// lo), and the nftables guard's removal when the process is interrupted (SIGINT) mid-scan.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after } from 'node:test';
import { NativeSynEngineImpl } from '../../src/native/syn';
import type { ScanHit } from '../../src/native/syn_types';
import { sh } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';
import { waitFor } from '../lab/wait';

let engine: NativeSynEngineImpl | undefined;
after(() => engine?.close());

async function listen(host: string): Promise<net.Server> {
  const srv = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => srv.listen({ host, port: 0, ipv6Only: host.includes(':') }, r));
  return srv;
}

privilegedTest('a loopback scan finds our listener open over IPv4 and IPv6 and reports every port once', async () => {
  const e = new NativeSynEngineImpl();
  engine = e;
  for (const host of ['127.0.0.1', '::1']) {
    const srv = await listen(host);
    const port = (srv.address() as net.AddressInfo).port;
    const lo = Math.max(1, port - 200);
    const hi = Math.min(65535, port + 200);
    const hits: ScanHit[] = [];
    const h = e.scan({ runs: [{ family: host.includes(':') ? 6 : 4, first: host, count: 1 }], ports: [[lo, hi]], rate: 20_000, retries: 1, waitMs: 500, allStates: true }, { onHits: (x) => hits.push(...x) });
    const s = await h.done;
    srv.close();
    assert.equal(hits.length, hi - lo + 1, `${host}: ${JSON.stringify(s)}`);
    assert.equal(new Set(hits.map((x) => x.port)).size, hits.length, `${host}: a port reported twice`);
    const mine = hits.find((x) => x.port === port);
    assert.deepEqual(mine && [mine.state, mine.reason], ['open', 'syn-ack'], `${host}:${port}`);
    assert.ok(hits.every((x) => x.address === host && (x.state === 'open' || x.state === 'closed')), `${host}: only open and closed on loopback`);
    assert.equal(s.foreign, 0);
  }
});

privilegedTest('SIGINT during a scan removes the nftables guard and ends the process as the signal does', async () => {
  const child = spawn(process.execPath, [path.join(__dirname, 'sigint_child.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
  try {
    assert.ok(await waitFor(() => out.includes('scanning') || child.exitCode !== null, 30_000), 'the child did not start its scan');
    const table = `sonde_syn_${child.pid}`;
    assert.match(sh('nft', ['list', 'tables']), new RegExp(table));
    child.kill('SIGINT');
    assert.equal(await exited, 'SIGINT');
    assert.doesNotMatch(sh('nft', ['list', 'tables']), new RegExp(table));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
