// The daemon as systemd/sonde.service runs it: an unprivileged user holding exactly the unit's
// capabilities (CAP_NET_RAW, CAP_BPF, CAP_PERFMON, ambient and bounding), no_new_privs, set up by
// setpriv (never systemd), from the tree `npm run install-service` puts in place (in a DESTDIR: the
// checkout itself may sit where that user cannot read). Shown working: raw ICMP echo, the raw traceroute engine, and eBPF loss
// attribution through an nft drop; and, run without those capabilities, the raw engine fails: they
// are what makes it work.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { get, startDaemon } from '../lab/daemon';
import { FaultLab, TARGET_ADDR } from '../lab/faultlab';
import { isRoot, privilegedTest } from '../lab/privileged';
import { until } from '../lab/wait';

/** A uid and gid no account uses: the test makes no user on the host. */
const UID = 64_925;

/** The unit's capabilities, parsed from it so that the test follows the unit. */
function unitCapabilities(): string[] {
  const unit = readFileSync(path.resolve(__dirname, '..', '..', '..', 'systemd', 'sonde.service'), 'utf8');
  const line = /^AmbientCapabilities=(.*)$/m.exec(unit)?.[1] ?? '';
  const bounding = /^CapabilityBoundingSet=(.*)$/m.exec(unit)?.[1] ?? '';
  assert.equal(line, bounding, 'ambient and bounding sets are the same');
  return line.split(/\s+/).filter(Boolean);
}

/** Linux capability numbers (linux/capability.h). */
const CAP_NUMBERS: Record<string, number> = { CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_PERFMON: 38, CAP_BPF: 39 };

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** setpriv as the unit's user and capabilities, then node and the installed sonde. */
function setpriv(caps: string[]): string[] {
  const list = caps.map((c) => `+${c.slice(4).toLowerCase()}`).join(',');
  const set = caps.length > 0 ? `-all,${list}` : '-all';
  const bin = path.join(dir, 'root', 'opt', 'sonde', 'bin', 'sonde.js');
  return ['setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`, '--no-new-privs', process.execPath, bin];
}

function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

let lab: FaultLab;
let dir: string;

before(async () => {
  if (!isRoot()) return;
  lab = new FaultLab('sdcap');
  await lab.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-caps-'));
  chmodSync(dir, 0o755); // the unprivileged user reads the config and the program
  const inst = spawnSync('bash', [path.join(ROOT, 'scripts', 'install-service.sh')], { env: { ...process.env, DESTDIR: path.join(dir, 'root') }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(inst.status, 0, inst.stderr);
});

after(() => {
  lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const CONFIG = `modules:
  icmp: { prober: icmp, timeout: 2s, icmp: { preferred_ip_protocol: ip4 } }
  trace: { prober: trace, timeout: 5s, trace: { preferred_ip_protocol: ip4, protocol: icmp, max_ttl: 3 } }
tasks:
  - { name: loop_icmp, module: icmp, targets: ["127.0.0.1"], interval: 500ms, timeout: 450ms }
  - { name: lab_icmp, module: icmp, targets: ["${TARGET_ADDR}"], interval: 500ms, timeout: 450ms }
`;

interface ResultEntry {
  task: string;
  success: boolean;
  reason?: string;
  attribution?: Array<{ verdict: string; reason: string }>;
}

privilegedTest('as an unprivileged user with only the unit\'s capabilities: ICMP, the raw trace engine and eBPF attribution work', async () => {
  const caps = unitCapabilities();
  assert.deepEqual([...caps].sort(), ['CAP_BPF', 'CAP_NET_RAW', 'CAP_PERFMON']);
  const cfg = path.join(dir, 'sonde.yml');
  writeFileSync(cfg, CONFIG);
  chmodSync(cfg, 0o644);
  lab.dropLocal('output', `ip daddr ${TARGET_ADDR} meta l4proto icmp`);
  const d = await startDaemon(['--config', cfg], {}, setpriv(caps));
  try {
    // The process sonde became: setpriv execs node in place, so the child's pid is sonde's.
    const st = status(d.child.pid!);
    const mask = caps.reduce((m, c) => m | (1n << BigInt(CAP_NUMBERS[c])), 0n).toString(16).padStart(16, '0');
    assert.equal(st.Uid.split(/\s+/)[0], String(UID), 'runs as the unprivileged uid');
    for (const k of ['CapEff', 'CapPrm', 'CapAmb', 'CapBnd']) assert.equal(st[k], mask, `${k} holds exactly ${caps.join(' ')}`);
    assert.equal(st.NoNewPrivs, '1');
    assert.ok(d.logs.some((l) => l.msg === 'eBPF drop tracer attached'), `the eBPF tracer loads with CAP_BPF and CAP_PERFMON: ${JSON.stringify(d.logs.filter((l) => l.level !== 30))}`);

    const trace = await get(d.port, '/probe?module=trace&target=127.0.0.1');
    assert.match(trace.text, /^probe_success 1$/m, `the raw trace engine reaches 127.0.0.1:\n${trace.text}`);
    const results = await until('results of both ICMP tasks', async () => {
      const r = JSON.parse((await get(d.port, '/results')).text) as ResultEntry[];
      const loop = r.find((e) => e.task === 'loop_icmp' && e.success);
      const lost = r.find((e) => e.task === 'lab_icmp' && e.attribution?.length);
      return loop && lost ? { loop, lost } : undefined;
    }, 90_000);
    assert.ok(results.loop.success, 'ICMP echo to loopback succeeds');
    for (const a of results.lost.attribution ?? []) assert.deepEqual({ verdict: a.verdict, reason: a.reason }, { verdict: 'local_drop', reason: 'NETFILTER_DROP' }, 'eBPF attributes the drop');
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
    lab.clearRules();
  }

  // The control: the same user without the capabilities cannot run the raw engine.
  const bare = await startDaemon(['--config', cfg, '--no-ebpf'], {}, setpriv([]));
  try {
    assert.equal(status(bare.child.pid!).CapEff, '0000000000000000');
    const trace = await get(bare.port, '/probe?module=trace&target=127.0.0.1');
    assert.match(trace.text, /^probe_success 0$/m, 'without CAP_NET_RAW the raw trace engine cannot run');
  } finally {
    bare.child.kill('SIGTERM');
    await bare.exited;
  }
}, 240_000);
