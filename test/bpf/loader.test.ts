// The eBPF loader on its own: reason names and locations come from the running kernel, programs go
// away with their process (SIGKILL included), and a process without the capabilities gets one clear
// "eBPF unavailable" message and carries on.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dropReasonNames, kernelSymbol } from '../../src/native/bpf';
import { Lab, sh } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';
import { waitFor } from '../lab/wait';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BPF_MODULE = path.join(ROOT, 'dist', 'src', 'native', 'bpf.js');

privilegedTest('drop reason names are the running kernel’s enum skb_drop_reason, as bpftool dumps it', () => {
  // Witness: the vmlinux.h that bpftool generated from /sys/kernel/btf/vmlinux for the BPF build.
  const header = readFileSync(path.join(ROOT, 'build', 'bpf', 'vmlinux.h'), 'utf8');
  const body = /enum skb_drop_reason \{([^}]*)\}/.exec(header)?.[1] ?? '';
  const expected = new Map<number, string>();
  for (const m of body.matchAll(/\b(SKB_\w+) = (\d+),/g)) expected.set(Number(m[2]), m[1].replace(/^SKB_DROP_REASON_/, ''));
  assert.ok(expected.size > 50, 'the witness found the enum');
  assert.deepEqual(dropReasonNames(), expected);
});

privilegedTest('kernel locations resolve to symbol+offset through /proc/kallsyms', () => {
  const line = readFileSync('/proc/kallsyms', 'utf8')
    .split('\n')
    .find((l) => / [tT] __udp4_lib_rcv$/.test(l));
  assert.ok(line, '__udp4_lib_rcv is in kallsyms');
  const addr = BigInt(`0x${line.split(' ')[0]}`);
  assert.equal(kernelSymbol(addr + 0x4bcn), '__udp4_lib_rcv+0x4bc');
  assert.equal(kernelSymbol(addr), '__udp4_lib_rcv+0x0');
  assert.equal(kernelSymbol(0n), '0x0');
});

privilegedTest('without CAP_BPF and CAP_PERFMON one "eBPF unavailable" message is given, and the caller goes on', () => {
  const script = `
    const { openDropTracer } = require(${JSON.stringify(BPF_MODULE)});
    const msgs = [];
    const a = openDropTracer({}, (m) => msgs.push(m));
    const b = openDropTracer({}, (m) => msgs.push(m));
    console.log(JSON.stringify({ a, b, msgs }));`;
  const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { a: unknown; b: unknown; msgs: string[] };
  assert.equal(out.a, null);
  assert.equal(out.b, null);
  assert.equal(out.msgs.length, 1, 'said once per process');
  assert.match(out.msgs[0], /^eBPF unavailable: missing CAP_BPF and CAP_PERFMON/);
});

function progExists(id: number): boolean {
  return sh('bpftool', ['prog', 'show', 'id', String(id)], { allowFail: true }).includes(`${id}:`);
}

privilegedTest('the programs are gone once their process is SIGKILLed (bpf_link, nothing pinned)', async () => {
  const lab = new Lab('sdbpfk');
  try {
    lab.addNs('peer');
    lab.link({ ns: null, ifname: 'sdbpfkh', addrs: ['198.19.250.1/30'] }, { ns: 'peer', ifname: 'sdbpfkp', addrs: ['198.19.250.2/30'] });
    const script = `
      const { DropTracer } = require(${JSON.stringify(BPF_MODULE)});
      const t = DropTracer.open();
      t.attachXdp('sdbpfkh');
      console.log(JSON.stringify(t.stats().programs.map((p) => p.id)));
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ids = await new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('child did not attach in 60 s')), 60_000);
      child.stdout.once('data', (d: Buffer) => {
        clearTimeout(timer);
        resolve(JSON.parse(d.toString()) as number[]);
      });
    });
    assert.equal(ids.length, 2, 'drop tracer and XDP observer loaded');
    for (const id of ids) assert.ok(progExists(id), `program ${id} is loaded while the child lives`);
    assert.match(sh('ip', ['link', 'show', 'sdbpfkh']), /xdp/);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // The kernel frees programs after an RCU grace period: poll (bounded).
    await waitFor(() => !ids.some(progExists), 30_000, 100);
    for (const id of ids) assert.equal(progExists(id), false, `program ${id} is gone`);
    assert.doesNotMatch(sh('ip', ['link', 'show', 'sdbpfkh']), /xdp/, 'XDP detached from the interface');
  } finally {
    lab.close();
  }
});
