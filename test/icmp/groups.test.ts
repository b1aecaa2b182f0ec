// Several echo() groups in flight at once on one engine: every probe's outcome reaches JS, whatever
// group it belongs to (regression: with four groups of 5,000 the engine counted 20,000 replies while
// JS received about 4,700; a single group lost nothing).
import assert from 'node:assert/strict';
import { IcmpEngine, type IcmpOutcome } from '../../src/native/icmp';
import { Lab } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';

const HOST = '198.19.232.1';
const TARGET = '198.19.232.2';

function echoGroup(engine: IcmpEngine, n: number): Promise<{ replies: number; other: number; calls: number }> {
  let replies = 0;
  let other = 0;
  let calls = 0;
  return new Promise((resolve) =>
    engine.echo(
      new Array<string>(n).fill(TARGET),
      { timeoutMs: 15_000 }, // ends at the last reply; the bound is for a loaded machine
      (_i, o: IcmpOutcome) => {
        calls++;
        if (o.kind === 'reply') replies++;
        else if (o.kind !== 'duplicate') other++;
      },
      () => resolve({ replies, other, calls }),
    ),
  );
}

privilegedTest('four echo() groups of 5,000 in flight at once: every reply reaches its group', async () => {
  const lab = new Lab('sdicg');
  const engine = new IcmpEngine({ capacityLog2: 17 });
  try {
    lab.addNs('t');
    lab.link({ ns: null, ifname: 'sdicgh', addrs: [`${HOST}/24`] }, { ns: 't', ifname: 'sdicgt', addrs: [`${TARGET}/24`] });
    const groups = await Promise.all(Array.from({ length: 4 }, () => echoGroup(engine, 5000)));
    const c = engine.counters();
    const replies = groups.reduce((s, g) => s + g.replies, 0);
    assert.equal(c.sent, 20_000, 'the engine sent every echo');
    for (const [k, g] of groups.entries()) assert.equal(g.calls, 5000, `group ${k}: one final outcome per probe`);
    assert.equal(replies, c.replies, 'JS received every reply the engine counted');
    assert.equal(replies, 20_000, `every echo answered (${groups.map((g) => `${g.replies}+${g.other}`).join(', ')})`);
  } finally {
    engine.close();
    lab.close();
  }
});

privilegedTest('four pipes of 200-echo groups back to back (the overhead bench shape): 20,000 replies, all delivered', async () => {
  const lab = new Lab('sdicg');
  const engine = new IcmpEngine({ capacityLog2: 17 });
  try {
    lab.addNs('t');
    lab.link({ ns: null, ifname: 'sdicgh', addrs: [`${HOST}/24`] }, { ns: 't', ifname: 'sdicgt', addrs: [`${TARGET}/24`] });
    let queued = 0;
    let replies = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (queued < 20_000) {
          queued += 200;
          const g = await echoGroup(engine, 200);
          assert.equal(g.calls, 200, 'one final outcome per probe of the group');
          replies += g.replies;
        }
      }),
    );
    assert.equal(engine.counters().replies, 20_000);
    assert.equal(replies, 20_000, 'JS received every reply the engine counted');
  } finally {
    engine.close();
    lab.close();
  }
});
