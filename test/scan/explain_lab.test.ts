// `sonde scan --explain` on the real SYN engine and eBPF drop tracer: each port filtered by silence
// is reported with where it was lost. Over a veth the lab's target drops some SYNs in its own
// namespace: path_loss (the SYN left, nothing came back, nothing was dropped on the probe host). On
// loopback, in a namespace of the test's, the host's own nftables drops a SYN on its way out and a
// SYN-ACK on its way back: local_drop NETFILTER_DROP, each on its pair only.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after } from 'node:test';
import { runSonde } from '../lab/cli';
import { Lab } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';
import { waitFor } from '../lab/wait';
import { buildSynLab, TARGET4, type SynLab } from '../syn/synlab';

interface Row {
  ip: string;
  port: number;
  state: string;
  reason: string;
  verdict?: string;
  drop_reason?: string;
  direction?: string;
}

const rows = (stdout: string): Row[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row);

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

privilegedTest('sonde scan --explain over a veth: SYNs dropped inside the target are path_loss; open ports have no verdict; closed ones stay hidden', async () => {
  const l: SynLab = await buildSynLab('sdsxv');
  cleanups.push(() => l.close());
  const dir = l.lab.exec(null, ['mktemp', '-d']).trim();
  const config = `${dir}/scan.yml`;
  l.lab.exec(null, ['sh', '-c', `printf 'scan:\\n  allow: [198.18.241.0/24]\\n' > ${config}`]);
  const ports = [...l.truth.open4, ...l.truth.dropped, 1, 2, 3];
  const r = await runSonde(['scan', TARGET4, '-p', ports.join(','), '--rate', '5000', '--wait', '1', '--explain', '--ndjson', '--config', config]);
  assert.equal(r.code, 0, r.stderr);
  const got = rows(r.stdout);
  const byPort = new Map(got.map((row) => [row.port, row]));
  for (const p of l.truth.open4) assert.deepEqual([byPort.get(p)?.state, byPort.get(p)?.verdict], ['open', undefined], `port ${p}`);
  for (const p of l.truth.dropped) assert.deepEqual([byPort.get(p)?.state, byPort.get(p)?.reason, byPort.get(p)?.verdict], ['filtered', 'no-response', 'path_loss'], `port ${p}: ${r.stderr}`);
  for (const p of [1, 2, 3]) assert.equal(byPort.get(p), undefined, `closed port ${p} is not shown without --all-states`);
  assert.equal(got.length, l.truth.open4.length + l.truth.dropped.length);
  assert.match(r.stderr, /filtered by silence 3: path_loss 3/);
});

privilegedTest('sonde scan --explain on loopback: a SYN dropped on output and a SYN-ACK dropped on output are local_drop NETFILTER_DROP', async () => {
  const lab = new Lab('sdsxl');
  cleanups.push(() => lab.close());
  lab.addNs('l');
  const [open, synDropped, ackDropped] = [0, 1, 2].map(() => randomInt(20_000, 30_000) + 0);
  const ports = [open, synDropped + 10_000, ackDropped + 20_000];
  lab.nft(
    'l',
    `table inet explainlab {
  chain output {
    type filter hook output priority 0; policy accept;
    tcp dport ${ports[1]} tcp flags & (syn | ack) == syn drop
    tcp sport ${ports[2]} tcp flags & (syn | ack) == (syn | ack) drop
  }
}
`,
  );
  const listener = lab.spawn('l', [
    process.execPath,
    '-e',
    `const net = require('net'); let n = 0; for (const p of process.argv.slice(1).map(Number)) net.createServer((c) => c.destroy()).listen(p, '127.0.0.1', () => { if (++n === 3) console.log('ready'); });`,
    ...ports.map(String),
  ]);
  let out = '';
  listener.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  assert.ok(await waitFor(() => out.includes('ready') || listener.exitCode !== null, 30_000), 'listeners started');
  const r = await runSonde(['scan', '127.0.0.1', '-p', ports.join(','), '--rate', '1000', '--retries', '1', '--wait', '1', '--explain', '--ndjson'], 120_000, lab.ns('l'));
  assert.equal(r.code, 0, r.stderr);
  const byPort = new Map(rows(r.stdout).map((row) => [row.port, row]));
  assert.deepEqual([byPort.get(ports[0])?.state, byPort.get(ports[0])?.verdict], ['open', undefined], r.stdout);
  for (const p of [ports[1], ports[2]]) {
    const row = byPort.get(p);
    assert.deepEqual([row?.state, row?.reason, row?.verdict, row?.drop_reason], ['filtered', 'no-response', 'local_drop', 'NETFILTER_DROP'], `port ${p}: ${r.stdout}\n${r.stderr}`);
  }
  assert.match(r.stderr, /filtered by silence 2: local_drop NETFILTER_DROP/);
  // The SYNs to the second port, refused by the output rule (EPERM), are counted as refused, not sent.
  assert.match(r.stderr, /\d+ SYNs sent in [\d.]+ s \(\d+ pps\), 2 refused by the local stack/, r.stderr);

  // The tcp_syn prober attributes the silent ports of a failed probe the same way.
  const dir = lab.exec(null, ['mktemp', '-d']).trim();
  const cfg = `${dir}/syn.yml`;
  writeFileSync(cfg, `modules:\n  ports:\n    prober: tcp_syn\n    timeout: 10s\n    tcp_syn:\n      ports: "${ports.join(',')}"\n      wait: 1s\n      fail_if_not_open: true\n`);
  const p = await runSonde(['probe', '127.0.0.1', '--module', 'ports', '--config', cfg, '--json', '--explain'], 120_000, lab.ns('l'));
  assert.equal(p.code, 1, p.stderr);
  const result = JSON.parse(p.stdout) as { reason: string; attribution?: Array<{ port: number; verdict: string; reason?: string }> };
  assert.equal(result.reason, 'connect_timeout', p.stdout);
  assert.deepEqual(
    (result.attribution ?? []).map((a) => [a.port, a.verdict, a.reason]).sort(),
    [ports[1], ports[2]].map((port) => [port, 'local_drop', 'NETFILTER_DROP']).sort(),
    p.stdout,
  );
});
