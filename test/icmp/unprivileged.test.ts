// `sonde ping` as a user without CAP_NET_RAW (nobody, via setpriv): with net.ipv4.ping_group_range
// closed the error names the capability and the sysctl; opened (by the test, restored after), the
// engine falls back to ping sockets and reaches the lab target through the routers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { buildIcmpLab, type IcmpLab } from '../lab/icmplab';
import { privilegedTest } from '../lab/privileged';
import { PING_CLI } from './helpers';

const RANGE = '/proc/sys/net/ipv4/ping_group_range';
let lab: IcmpLab | undefined;
after(() => lab?.close());

// The checkout, as nobody may see it: the checkout's own files are world-readable, but its parent
// folders may not be (a clone under /root or in a `mktemp -d` folder). The helper therefore runs in a
// mount namespace of its own where the checkout is bind-mounted under a folder anyone may enter;
// the mount goes away with the helper, and nothing is copied.
const CHECKOUT = path.resolve(__dirname, '..', '..', '..');
let view: string | undefined;
after(() => view && rmSync(view, { recursive: true, force: true }));

function asNobody(args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!view) {
    view = mkdtempSync(path.join(os.tmpdir(), 'sonde-nobody-'));
    mkdirSync(path.join(view, 'checkout'));
    chmodSync(view, 0o755);
  }
  const mnt = path.join(view, 'checkout');
  const cli = path.join(mnt, path.relative(CHECKOUT, PING_CLI));
  // No capabilities at all, and net_raw dropped from the bounding set so nothing can regain it.
  const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-net_raw', process.execPath, cli, ...args];
  const r = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind -- "$1" "$2" && shift 2 && exec "$@"', 'sh', CHECKOUT, mnt, ...nobody],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withRange<T>(value: string, fn: () => T): T {
  const saved = readFileSync(RANGE, 'utf8').trim();
  writeFileSync(RANGE, value);
  try {
    return fn();
  } finally {
    writeFileSync(RANGE, saved);
  }
}

privilegedTest('without CAP_NET_RAW and outside ping_group_range, the error names both remedies', () => {
  const r = withRange('1 0', () => asNobody(['127.0.0.1', '-c', '1']));
  // fping's exit status for a system call failure.
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /CAP_NET_RAW/);
  assert.match(r.stderr, /net\.ipv4\.ping_group_range is "1 0"/);
  assert.match(r.stderr, /group id 65534/);
});

privilegedTest('without CAP_NET_RAW, ping sockets reach the target through three routers, IPv4 and IPv6', () => {
  lab ??= buildIcmpLab('sdicmp');
  const l = lab;
  const before = readFileSync(RANGE, 'utf8');
  const r = withRange('65534 65534', () => asNobody([l.target4, l.target6, '-c', '3', '-p', '50', '-t', '10s', '--json']));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Array<{ target: string; received: number; loss: number; rtt: { median: number } }>;
  assert.deepEqual(out.map((o) => [o.target, o.received, o.loss]), [[l.target4, 3, 0], [l.target6, 3, 0]]);
  for (const o of out) assert.ok(o.rtt.median > 0 && o.rtt.median < 10, `median rtt ${o.rtt.median} s`);
  assert.equal(readFileSync(RANGE, 'utf8'), before, 'ping_group_range is restored');
});
