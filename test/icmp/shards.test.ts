// The engine's shards (native/icmp/shards.cc): every reply and every ICMP error reaches exactly
// the shard that sent the probe, whatever the number of shards, and a DF probe's socket does not
// hand its replies over a second time as duplicates.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after } from 'node:test';
import { IcmpEngine, type IcmpOutcomeKind } from '../../src/native/icmp';
import { Lab } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';

// The engine runs in a child process inside the lab's host namespace ('h'), where no other
// process's ICMP can show up as strays. Host 198.19.208.1 / fd5e:ed00:3208::1 -- target
// namespace 't', which answers for 198.19.209.0/24 and fd5e:ed00:3209::/64 through local routes.
let lab: Lab | undefined;
function getLab(): Lab {
  if (lab) return lab;
  const l = new Lab('sdicsh');
  try {
    l.addNs('h');
    l.addNs('t');
    l.link({ ns: 'h', ifname: 'sdicshh', addrs: ['198.19.208.1/24', 'fd5e:ed00:3208::1/64'] }, { ns: 't', ifname: 'sdicsht', addrs: ['198.19.208.2/24', 'fd5e:ed00:3208::2/64'] });
    l.exec('t', ['ip', 'route', 'add', 'local', '198.19.209.0/24', 'dev', 'lo']);
    l.exec('t', ['ip', '-6', 'route', 'add', 'local', 'fd5e:ed00:3209::/64', 'dev', 'lo']);
    l.route('h', '198.19.209.0/24', '198.19.208.2');
    l.route('h', 'fd5e:ed00:3209::/64', 'fd5e:ed00:3208::2');
    // The target's errors at the test's pace, not the kernel's default rate limits.
    for (const [k, v] of [['net.ipv4.icmp_ratelimit', '0'], ['net.ipv6.icmp.ratelimit', '0'], ['net.ipv4.icmp_msgs_per_sec', '1000000'], ['net.ipv4.icmp_msgs_burst', '1000000']]) l.sysctl('t', k, v);
    lab = l;
    return l;
  } catch (err) {
    l.close();
    throw err;
  }
}
const v4 = (i: number) => `198.19.209.${1 + (i % 250)}`;
const v6 = (i: number) => `fd5e:ed00:3209::${(1 + (i % 250)).toString(16)}`;

interface ChildSpec {
  threads?: number;
  count: number;
  /** one burst per entry, with DF set or not */
  df: boolean[];
  /** per-probe timeout (default 2 s: replies take microseconds, a loaded machine gets room) */
  timeoutMs?: number;
}

interface ChildResult {
  /** per burst: outcome kinds and how many probes got other than exactly one final outcome */
  bursts: Array<{ kinds: Array<[IcmpOutcomeKind, number]>; notOnce: number }>;
  counters: ReturnType<IcmpEngine['counters']>;
}

async function childMain(spec: ChildSpec): Promise<ChildResult> {
  const e = new IcmpEngine({ capacityLog2: 14, threads: spec.threads });
  const addrs = Array.from({ length: spec.count }, (_, i) => (i % 2 ? v6(i) : v4(i)));
  const bursts: ChildResult['bursts'] = [];
  for (const df of spec.df) {
    const kinds = new Map<IcmpOutcomeKind, number>();
    const perProbe = addrs.map(() => 0);
    await new Promise<void>((resolve) =>
      e.echo(addrs, { timeoutMs: spec.timeoutMs ?? 2000, df }, (i, o) => {
        kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
        if (o.kind !== 'duplicate') perProbe[i]++;
      }, resolve),
    );
    // Past the deadline, so a late copy would show as a duplicate or a late reply in the counters.
    await new Promise((r) => setTimeout(r, (spec.timeoutMs ?? 2000) + 100));
    bursts.push({ kinds: [...kinds], notOnce: perProbe.filter((n) => n !== 1).length });
  }
  const counters = e.counters();
  e.close();
  return { bursts, counters };
}

function inLab(spec: ChildSpec): ChildResult {
  const l = getLab();
  const out = execFileSync('ip', ['netns', 'exec', l.ns('h'), process.execPath, __filename], {
    encoding: 'utf8',
    env: { ...process.env, SONDE_SHARDS_CHILD: JSON.stringify(spec) },
    timeout: 120_000,
  });
  return JSON.parse(out) as ChildResult;
}

if (process.env.SONDE_SHARDS_CHILD) {
  childMain(JSON.parse(process.env.SONDE_SHARDS_CHILD) as ChildSpec).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (err: Error) => {
      process.stderr.write(`${err.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
} else {
  after(() => lab?.close());

  for (const threads of [1, 2, 4]) {
    privilegedTest(`${threads} shard(s): 4,000 echoes over IPv4 and IPv6 are each answered once, with no strays or duplicates`, () => {
      const r = inLab({ threads, count: 4000, df: [false] });
      assert.deepEqual(r.bursts, [{ kinds: [['reply', 4000]], notOnce: 0 }]);
      assert.equal(r.counters.sent, 4000);
      assert.equal(r.counters.replies, 4000);
      assert.equal(r.counters.duplicates, 0, 'no shard saw a sibling reply as a duplicate');
      assert.equal(r.counters.strays, 0, 'no shard saw a sibling reply as a stray');
      assert.equal(r.counters.late, 0);
    });
  }

  privilegedTest('ICMP errors quoting our echo reach the shard that sent it: one unreachable per probe over 4 shards', () => {
    const l = getLab();
    l.nft('t', `table inet sdshrej {
      chain in { type filter hook input priority 0;
        icmp type echo-request reject with icmp type host-unreachable
        icmpv6 type echo-request reject with icmpv6 type addr-unreachable
      }
    }`);
    try {
      // The kernel's global ICMP error limiter (icmp_global_allow, per namespace) refuses an error
      // when its credit is empty and it was refilled less than HZ/50 ago, whatever icmp_msgs_burst
      // says: the target's very first error could be dropped (seen as IcmpOutRateLimitGlobal 1).
      // A first exchange, not asserted, fills the credit before the measured burst.
      inLab({ threads: 1, count: 2, df: [false], timeoutMs: 200 });
      const r = inLab({ threads: 4, count: 1000, df: [false], timeoutMs: 3000 });
      assert.deepEqual(r.bursts, [{ kinds: [['unreachable', 1000]], notOnce: 0 }]);
      assert.equal(r.counters.errors, 1000);
      assert.equal(r.counters.strays, 0, 'no error went to a shard that did not send its probe');
    } finally {
      l.exec('t', ['nft', 'delete', 'table', 'inet', 'sdshrej']);
    }
  });

  privilegedTest('DF and plain echoes on one engine: each reply counted once, never again as a duplicate', () => {
    const r = inLab({ count: 200, df: [false, true, false] });
    for (const b of r.bursts) assert.deepEqual(b, { kinds: [['reply', 200]], notOnce: 0 });
    assert.equal(r.counters.duplicates, 0);
    assert.equal(r.counters.strays, 0);
  });
}
