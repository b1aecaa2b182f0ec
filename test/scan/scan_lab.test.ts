// `sonde scan` and the tcp_syn prober end to end, on the real SYN engine, against a lab namespace
// with listeners on ports picked at random (IPv4 and IPv6), SYNs silently dropped to some ports and
// one port rejected with ICMP admin-prohibited (test/syn/synlab.ts): every port's state as the truth
// says, each once; --then on each open port; the tcp_syn prober on /probe and in a task; the
// progress line and Ctrl-C on a terminal.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { runSonde } from '../lab/cli';
import { get, metric, startDaemon } from '../lab/daemon';
import { privilegedTest } from '../lab/privileged';
import { sondeInPty } from '../lab/pty';
import { until } from '../lab/wait';
import { buildSynLab, TARGET4, TARGET6, type SynLab } from '../syn/synlab';

let lab: SynLab | undefined;
async function getLab(): Promise<SynLab> {
  lab ??= await buildSynLab('sdscl');
  return lab;
}
after(() => lab?.close());

const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-scan-lab-'));
const CONFIG = path.join(dir, 'scan.yml');
writeFileSync(CONFIG, 'scan:\n  allow: [198.18.241.0/24, "fd5e:ed00:241::/64"]\n');

interface Row {
  ip: string;
  port: number;
  state: string;
  reason: string;
  ttl: number | null;
  rtt: number | null;
  icmp_code?: number;
  then?: { success: boolean; reason: string | null; duration: number };
}

function rows(stdout: string): Row[] {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Row);
}

/** The truth's ports plus a run of others (closed): small enough for a quick run, every kind in it. */
function portsOf(l: SynLab): string {
  const t = l.truth;
  return [...t.open4, ...t.open6, ...t.dropped, t.rejected, '1-200'].join(',');
}

privilegedTest('sonde scan --all-states --ndjson: every port of both families once, in its true state', async () => {
  const l = await getLab();
  const r = await runSonde(['scan', TARGET4, TARGET6, '-p', portsOf(l), '--rate', '20000', '--wait', '1.5', '--all-states', '--ndjson', '--config', CONFIG]);
  assert.equal(r.code, 0, r.stderr);
  const got = rows(r.stdout);
  const ports = new Set([...l.truth.open4, ...l.truth.open6, ...l.truth.dropped, l.truth.rejected, ...Array.from({ length: 200 }, (_, i) => i + 1)]);
  assert.equal(got.length, 2 * ports.size, `rows: ${got.length}\n${r.stderr}`);
  const seen = new Set<string>();
  for (const row of got) {
    const key = `${row.ip} ${row.port}`;
    assert.ok(!seen.has(key), `${key} reported twice`);
    seen.add(key);
    const want = l.expect(row.ip === TARGET4 ? 4 : 6, row.port);
    assert.deepEqual([row.state, row.reason], [want.state, want.reason], key);
    if (want.icmpCode !== undefined) assert.equal(row.icmp_code, want.icmpCode, `${key}: ICMP code kept`);
    if (want.reason === 'no-response') assert.deepEqual([row.ttl, row.rtt], [null, null], key);
    else assert.ok(row.rtt !== null && row.rtt > 0 && row.ttl !== null, key);
  }
  assert.match(r.stderr, new RegExp(`open ${l.truth.open4.length + l.truth.open6.length}, closed \\d+, filtered 8`));
});

privilegedTest('sonde scan (default view, -oG): only the open ports, in a table per host and grepable lines', async () => {
  const l = await getLab();
  const gnmap = path.join(dir, 'out.gnmap');
  const r = await runSonde(['scan', TARGET4, TARGET6, '-p', portsOf(l), '--rate', '20000', '--config', CONFIG, '-oG', gnmap]);
  assert.equal(r.code, 0, r.stderr);
  for (const p of l.truth.open4) assert.match(r.stdout, new RegExp(`^Discovered open port ${p}/tcp on ${TARGET4.replace(/\./g, '\\.')}$`, 'm'));
  for (const p of l.truth.open6) assert.match(r.stdout, new RegExp(`^Discovered open port ${p}/tcp on ${TARGET6}$`, 'm'));
  assert.equal((r.stdout.match(/^Discovered/gm) ?? []).length, 6, 'each open port once, nothing else');
  assert.match(r.stdout, /sonde scan report for 198\.18\.241\.2\nPORT +STATE +REASON\n/);
  const g = (await import('node:fs')).readFileSync(gnmap, 'utf8');
  const open4 = [...l.truth.open4].sort((a, b) => a - b).map((p) => `${p}/open/tcp//`);
  assert.match(g, new RegExp(`^Host: 198\\.18\\.241\\.2 \\(\\)\\tPorts: ${open4.map((x) => `${x}[a-z-]*///`).join(', ')}$`, 'm'));
});

privilegedTest('sonde scan --then tcp_connect: each open port handed to the prober, its verdict with the hit', async () => {
  const l = await getLab();
  const r = await runSonde(['scan', TARGET4, TARGET6, '-p', portsOf(l), '--rate', '20000', '--config', CONFIG, '--ndjson', '--then', 'tcp_connect']);
  assert.equal(r.code, 0, r.stderr);
  const got = rows(r.stdout);
  assert.deepEqual(
    got.map((x) => `${x.ip} ${x.port}`).sort(),
    [...l.truth.open4.map((p) => `${TARGET4} ${p}`), ...l.truth.open6.map((p) => `${TARGET6} ${p}`)].sort(),
  );
  for (const row of got) assert.deepEqual([row.then?.success, row.then?.reason], [true, null], `${row.ip} ${row.port}: ${JSON.stringify(row.then)}`);
});

privilegedTest('tcp_syn prober: port states on /probe and as task series, one engine for the daemon', async () => {
  const l = await getLab();
  const t = l.truth;
  const closed = 7; // no listener, no rule: the truth says closed
  const ports = [t.open4[0], t.dropped[0], t.rejected, closed];
  const cfg = path.join(dir, 'daemon.yml');
  writeFileSync(
    cfg,
    `scan:
  allow: [198.18.241.0/24, "fd5e:ed00:241::/64"]
modules:
  lab_ports:
    prober: tcp_syn
    timeout: 8s
    tcp_syn:
      ports: "${ports.join(',')}"
      wait: 1s
      fail_if_not_open: false
tasks:
  - name: lab_ports
    module: lab_ports
    targets: [${TARGET4}, "${TARGET6}"]
    interval: 2s
`,
  );
  const d = await startDaemon(['--config', cfg]);
  try {
    const p = await get(d.port, `/probe?module=lab_ports&target=${TARGET4}`);
    assert.equal(p.status, 200, p.text);
    assert.equal(metric(p.text, 'probe_success'), 1, p.text);
    assert.equal(metric(p.text, `sonde_port_state{port="${t.open4[0]}",state="open"}`), 1);
    assert.equal(metric(p.text, `sonde_port_state{port="${t.dropped[0]}",state="filtered"}`), 1);
    assert.equal(metric(p.text, `sonde_port_state{port="${t.rejected}",state="filtered"}`), 1);
    assert.equal(metric(p.text, `sonde_port_state{port="${closed}",state="closed"}`), 1);
    assert.equal(metric(p.text, `sonde_port_state{port="${closed}",state="open"}`), 0);
    // Outside scan.allow: refused, no SYN.
    const refused = await get(d.port, '/probe?module=lab_ports&target=198.18.242.9');
    assert.equal(metric(refused.text, 'probe_success'), 0);
    const text = await until('task series of both targets', async () => {
      const m = (await get(d.port, '/metrics')).text;
      return metric(m, `sonde_port_state{task="lab_ports",target="${TARGET6}",port="${closed}",state="closed"}`) === 1 &&
        metric(m, `sonde_port_state{task="lab_ports",target="${TARGET4}",port="${closed}",state="closed"}`) === 1
        ? m
        : undefined;
    });
    const v6open = t.open4[0];
    // The IPv4 listener's port is not open on IPv6 (the truth: closed there).
    assert.equal(metric(text, `sonde_port_state{task="lab_ports",target="${TARGET6}",port="${v6open}",state="${l.expect(6, v6open).state}"}`), 1);
    assert.equal(metric(text, `sonde_port_state{task="lab_ports",target="${TARGET4}",port="${t.open4[0]}",state="open"}`), 1);
    assert.equal(metric(text, `sonde_port_state{task="lab_ports",target="${TARGET4}",port="${t.rejected}",state="filtered"}`), 1);
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
});

privilegedTest('on a terminal: the progress line on stderr while it runs; Ctrl-C ends the scan with its summary, exit 130', async () => {
  const run = sondeInPty(['scan', '127.0.0.1', '-p', '1-60000', '--rate', '2000']);
  try {
    assert.ok(await run.waitFor(/sonde scan: \d+\/60000 sent \(\d+ pps\), found \d+ open, \d+ closed, \d+ filtered, ETA /), `no progress line: ${run.output()}`);
    run.interrupt();
    assert.equal(await run.exited, 130, run.output());
    assert.match(run.output(), /cut short by --max-runtime or an interrupt/);
    assert.match(run.output(), /received \d+, validated \d+, foreign \d+, duplicates \d+; open \d+, closed \d+, filtered \d+/);
  } finally {
    run.child.kill('SIGKILL');
  }
});
