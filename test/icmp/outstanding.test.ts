// 2^20 echo probes outstanding at once: a lab namespace swallows every echo (a blackhole route, so
// no ICMP error comes back), and all 1,048,576 probes must be in flight together before the first
// times out, then each must end exactly once as a timeout.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { IcmpEngine } from '../../src/native/icmp';
import { Lab } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';

const PROBES = 1 << 20;

privilegedTest('1,048,576 echoes are in flight at once and each ends once, as a timeout', async (t) => {
  const lab = new Lab('sdicmo');
  try {
    lab.addNs('t');
    lab.link({ ns: null, ifname: 'sdicmoh', addrs: ['198.19.204.1/24'] }, { ns: 't', ifname: 'sdicmot', addrs: ['198.19.204.2/24'] });
    lab.route(null, '198.19.205.0/24', '198.19.204.2');
    // Discarded without an ICMP error, so each probe can only time out.
    lab.exec('t', ['ip', 'route', 'add', 'blackhole', '198.19.205.0/24']);
    const targets = Array.from({ length: 256 }, (_, i) => `198.19.205.${i}`);
    const addrs = new Array<string>(PROBES);
    for (let i = 0; i < PROBES; i++) addrs[i] = targets[i & 255];

    const engine = new IcmpEngine({ capacityLog2: 20 });
    assert.equal(engine.capacity, PROBES);
    const kinds = new Map<string, number>();
    const seen = new Uint8Array(PROBES);
    let twice = 0;
    let maxInFlight = 0;
    const sampler = setInterval(() => (maxInFlight = Math.max(maxInFlight, engine.counters().inFlight)), 20);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    // Every probe must still be waiting when the last one is sent: with both cores busy, sending 2^20
    // took about 28 s (an 8 s timeout then saw at most 370,048 in flight), so the timeout leaves room
    // for a loaded machine. The test lasts the sending time plus this timeout.
    await new Promise<void>((resolve) =>
      engine.echo(addrs, { timeoutMs: 60_000, payloadSize: 16 }, (i, o) => {
        kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
        if (seen[i]++) twice++;
      }, resolve),
    );
    clearInterval(sampler);
    const seconds = (performance.now() - t0) / 1000;
    const c = engine.counters();
    engine.close();
    t.diagnostic(`max in flight ${maxInFlight}; ${PROBES} outcomes in ${seconds.toFixed(1)} s; RSS +${Math.round((process.memoryUsage().rss - rss0) / 2 ** 20)} MiB; strays ${c.strays}`);
    assert.equal(maxInFlight, PROBES, 'every probe was outstanding at the same time');
    assert.deepEqual(Object.fromEntries(kinds), { timeout: PROBES });
    assert.equal(twice, 0, 'no probe ended twice');
    assert.equal(c.sent, PROBES);
    // (strays are other processes' ICMP on this host, which a raw socket also sees: not counted here)
    assert.equal(c.replies + c.duplicates, 0);
  } finally {
    lab.close();
  }
}, 300_000);
