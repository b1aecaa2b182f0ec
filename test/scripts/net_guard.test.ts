// scripts/net-guard.sh, the CI witness of the network rule, counts what it must and nothing else.
// Its table is built in a router namespace of a throwaway lab, with the allowed ranges narrowed to
// the client's subnet, so that traffic to the server's subnet (still inside the lab ranges and
// inside namespaces this test made) stands for "an address outside the labs".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SONDE_BIN } from '../lab/daemon';
import { Lab } from '../lab/netns';
import { privilegedTest, isRoot } from '../lab/privileged';
import { linkNet, routeNet, v4, v6 } from '../lab/routed';

const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'net-guard.sh');
const CLIENT_NET = 220;
const SERVER_NET = 221;
let lab: Lab | undefined;

function run(ns: string, argv: string[], env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function guard(cmd: 'start' | 'check' | 'stop'): { status: number | null; out: string } {
  return run(lab!.ns('r'), ['bash', SCRIPT, cmd], {
    SONDE_GUARD_ALLOW4: `${v4(CLIENT_NET, 0)}/24`,
    SONDE_GUARD_ALLOW6: `${v6(CLIENT_NET, 0)}/64`,
  });
}

/** Sends from namespace `ns`: one UDP datagram, or one TCP connection attempt (its SYN). */
function send(ns: string, proto: 'udp' | 'tcp', host: string, port: number): void {
  const js =
    proto === 'udp'
      ? `const s=require('dgram').createSocket('${host.includes(':') ? 'udp6' : 'udp4'}');s.send('q',${port},'${host}',e=>{s.close();process.exit(e?1:0)})`
      : `const c=require('net').connect(${port},'${host}');c.on('connect',()=>process.exit(0));c.on('error',()=>process.exit(0))`;
  const r = run(lab!.ns(ns), [process.execPath, '-e', js]);
  assert.equal(r.status, 0, r.out);
}

function ping(ns: string, host: string): void {
  const r = run(lab!.ns(ns), ['ping', '-n', '-q', '-c', '1', '-W', '30', host]);
  assert.equal(r.status, 0, r.out);
}

before(() => {
  if (!isRoot()) return;
  lab = new Lab('sdguar');
  for (const n of ['c', 'r', 's']) lab.addNs(n);
  linkNet(lab, 'sdguar', 'r', '0', 'c', '1', CLIENT_NET);
  linkNet(lab, 'sdguar', 'r', '2', 's', '3', SERVER_NET);
  routeNet(lab, 'c', 'default', CLIENT_NET, 1);
  routeNet(lab, 's', 'default', SERVER_NET, 1);
});

after(() => {
  if (lab) {
    guard('stop');
    lab.close();
  }
});

privilegedTest('allowed traffic leaves every counter at zero', () => {
  assert.equal(guard('start').status, 0);
  ping('c', v4(CLIENT_NET, 1)); // to the router itself: allowed range, and input, not output or forward
  ping('c', v6(CLIENT_NET, 1));
  send('r', 'udp', '127.0.0.1', 53); // loopback DNS
  send('r', 'udp', '::1', 53);
  send('r', 'tcp', v4(CLIENT_NET, 2), 53); // DNS to an allowed address
  send('s', 'tcp', v4(CLIENT_NET, 2), 9); // SYN the router forwards to an allowed address
  const r = guard('check');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /no DNS query, echo request or SYN left/);
});

privilegedTest('DNS, echo requests and SYNs to outside addresses are counted and named, routed or sent by the host', () => {
  assert.equal(guard('start').status, 0);
  const cases: { what: string; act: () => void; named: string }[] = [
    { what: 'echo request routed from a lab address (IPv4)', act: () => ping('c', v4(SERVER_NET, 2)), named: `${v4(SERVER_NET, 2)} icmp 0 from ${v4(CLIENT_NET, 2)}` },
    { what: 'echo request routed from a lab address (IPv6)', act: () => ping('c', v6(SERVER_NET, 2)), named: `${v6(SERVER_NET, 2)} ipv6-icmp 0 from ${v6(CLIENT_NET, 2)}` },
    { what: 'SYN routed from a lab address (IPv4)', act: () => send('c', 'tcp', v4(SERVER_NET, 2), 8080), named: `${v4(SERVER_NET, 2)} tcp 8080 from ${v4(CLIENT_NET, 2)}` },
    { what: 'SYN routed from a lab address (IPv6)', act: () => send('c', 'tcp', v6(SERVER_NET, 2), 8081), named: `${v6(SERVER_NET, 2)} tcp 8081 from ${v6(CLIENT_NET, 2)}` },
    { what: 'UDP DNS query the host sends (IPv4)', act: () => send('r', 'udp', v4(SERVER_NET, 2), 53), named: `${v4(SERVER_NET, 2)} udp 53 from ${v4(SERVER_NET, 1)}` },
    { what: 'UDP DNS query the host sends (IPv6)', act: () => send('r', 'udp', v6(SERVER_NET, 2), 53), named: `${v6(SERVER_NET, 2)} udp 53 from ${v6(SERVER_NET, 1)}` },
    { what: 'TCP DNS query the host sends (IPv4)', act: () => send('r', 'tcp', v4(SERVER_NET, 2), 53), named: `${v4(SERVER_NET, 2)} tcp 53 from ${v4(SERVER_NET, 1)}` },
    { what: 'TCP DNS query the host sends (IPv6)', act: () => send('r', 'tcp', v6(SERVER_NET, 2), 53), named: `${v6(SERVER_NET, 2)} tcp 53 from ${v6(SERVER_NET, 1)}` },
  ];
  for (const c of cases) {
    const before = guard('check');
    assert.equal(before.out.includes(c.named), false, `${c.what}: named before it was sent`);
    c.act();
    const r = guard('check');
    assert.equal(r.status, 1, `${c.what}: ${r.out}`);
    assert.ok(r.out.includes(c.named), `${c.what}: expected "${c.named}" in\n${r.out}`);
  }
});

privilegedTest('SYNs of the SYN scanner, sent on a packet socket below the inet hooks, are counted and named at the device', async () => {
  assert.equal(guard('start').status, 0);
  const dir = mkdtempSync(join(tmpdir(), 'sonde-guard-'));
  const config = join(dir, 'scan.yml');
  writeFileSync(config, `scan:\n  allow: ["${v4(SERVER_NET, 0)}/24", "${v6(SERVER_NET, 0)}/64"]\n`);
  for (const [host, port, from] of [
    [v4(SERVER_NET, 2), 8090, v4(SERVER_NET, 1)],
    [v6(SERVER_NET, 2), 8091, v6(SERVER_NET, 1)],
  ] as const) {
    const r = run(lab!.ns('r'), [process.execPath, SONDE_BIN, 'scan', host, '-p', String(port), '--rate', '100', '--retries', '0', '--wait', '0.2', '--config', config]);
    assert.equal(r.status, 0, r.out);
    const c = guard('check');
    assert.equal(c.status, 1, c.out);
    assert.match(c.out, new RegExp(`${host.replace(/[.]/g, '\\.')} tcp ${port} from ${from.replace(/[.]/g, '\\.')}`), `${c.out}\nscan: ${r.out}`);
  }
});

privilegedTest('stop removes the table, and check then fails', () => {
  assert.equal(guard('start').status, 0);
  assert.equal(guard('stop').status, 0);
  const r = guard('check');
  assert.equal(r.status, 1);
  assert.match(r.out, /table inet sonde_net_guard is missing/);
});
