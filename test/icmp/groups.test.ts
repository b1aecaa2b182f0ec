// Several echo() groups in flight at once on one engine: every probe's outcome reaches JS, whatever
// group it belongs to (regression: with four groups of 5,000 the engine counted 20,000 replies while
// JS received about 4,700; a single group lost nothing). And the allocation-free form `sonde ping`
// uses: targets parsed once, replies to a listener of their own.
import assert from 'node:assert/strict';
import { IcmpEngine, IcmpTargets, type IcmpOutcome } from '../../src/native/icmp';
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

/** The host and one target namespace over veth, and an engine for the test's body. */
async function inLab(capacityLog2: number, body: (engine: IcmpEngine) => Promise<void>): Promise<void> {
  const lab = new Lab('sdicg');
  const engine = new IcmpEngine({ capacityLog2 });
  try {
    lab.addNs('t');
    lab.link({ ns: null, ifname: 'sdicgh', addrs: [`${HOST}/24`] }, { ns: 't', ifname: 'sdicgt', addrs: [`${TARGET}/24`] });
    await body(engine);
  } finally {
    engine.close();
    lab.close();
  }
}

privilegedTest('four echo() groups of 5,000 in flight at once: every reply reaches its group', async () => {
  await inLab(17, async (engine) => {
    const groups = await Promise.all(Array.from({ length: 4 }, () => echoGroup(engine, 5000)));
    const c = engine.counters();
    const replies = groups.reduce((s, g) => s + g.replies, 0);
    assert.equal(c.sent, 20_000, 'the engine sent every echo');
    for (const [k, g] of groups.entries()) assert.equal(g.calls, 5000, `group ${k}: one final outcome per probe`);
    assert.equal(replies, c.replies, 'JS received every reply the engine counted');
    assert.equal(replies, 20_000, `every echo answered (${groups.map((g) => `${g.replies}+${g.other}`).join(', ')})`);
  });
});

privilegedTest('four pipes of 200-echo groups back to back (the overhead bench shape): 20,000 replies, all delivered', async () => {
  await inLab(17, async (engine) => {
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
  });
});

privilegedTest('targets parsed once, replies to their own listener: index and RTT per reply, a silent target to outcome', async () => {
  await inLab(16, async (engine) => {
    // .3 is on the link but nobody has it: no ARP answer, so its echoes end in a timeout.
    const targets = IcmpTargets.parse([TARGET, '198.19.232.3', TARGET]);
    for (let round = 0; round < 3; round++) {
      const replies: Array<[number, number]> = [];
      const others: Array<[number, string]> = [];
      await new Promise<void>((resolve) =>
        engine.echo(targets, { timeoutMs: 300 }, { reply: (i, rtt) => void replies.push([i, rtt]), outcome: (i, o) => void others.push([i, o.kind]) }, resolve),
      );
      assert.deepEqual(replies.map(([i]) => i).sort(), [0, 2], `round ${round}: the two echoes to the target answered`);
      for (const [, rtt] of replies) assert.ok(rtt > 0 && rtt < 0.3, `an RTT in seconds within the timeout: ${rtt}`);
      assert.deepEqual(others, [[1, 'timeout']], `round ${round}: the silent address timed out`);
    }
  });
});
