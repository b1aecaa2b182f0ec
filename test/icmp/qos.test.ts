// QoS classes at the ICMP engine's door (src/native/qos.ts): a table slot stays taken until its
// echo's deadline, answered or not, so with an hour's timeout every echo holds its slot for the
// whole test, however slow the machine; what each class holds and waits for is then exact.
import assert from 'node:assert/strict';
import { IcmpEngine, type IcmpOutcome } from '../../src/native/icmp';
import type { EngineClass } from '../../src/native/qos';
import { privilegedTest } from '../lab/privileged';
import { waitFor } from '../lab/wait';

const HOUR = 3_600_000;

privilegedTest('best_effort echoes take their share of the table; critical, /probe and standard ones still get slots; past the bound: shed', async () => {
  // One shard of 16 slots: best_effort at most 8, standard and best_effort together at most 12.
  const e = new IcmpEngine({ capacityLog2: 4, threads: 1, qos: { bestEffortShare: 0.5, standardShare: 0.75, queueBound: 10 } });
  try {
    const outcomes: Record<string, IcmpOutcome[]> = {};
    const send = (qos: EngineClass, n: number): void => {
      e.echo(Array<string>(n).fill('127.0.0.1'), { timeoutMs: HOUR, qos }, (_i, o) => (outcomes[qos] ??= []).push(o));
    };
    const c = () => e.classCounters();
    // 30 best_effort: 8 take slots, 10 wait, 12 are shed at once.
    send('best_effort', 30);
    assert.ok(await waitFor(() => c().best_effort.held === 8 && c().best_effort.waiting === 10, 60_000), JSON.stringify(c().best_effort));
    assert.ok(await waitFor(() => (outcomes.best_effort ?? []).filter((o) => o.kind === 'shed').length === 12, 60_000));
    assert.equal(c().best_effort.shed, 12);
    // Standard gets what its share leaves (4), critical and /probe the rest (4), none shed.
    send('standard', 6);
    assert.ok(await waitFor(() => c().standard.held === 4 && c().standard.waiting === 2, 60_000), JSON.stringify(c().standard));
    send('critical', 2);
    send('probe', 2);
    assert.ok(await waitFor(() => c().critical.held === 2 && c().probe.held === 2, 60_000), JSON.stringify(c()));
    assert.equal(c().critical.started + c().probe.started, 4);
    assert.equal(c().best_effort.held, 8, 'the flood never got past its share');
    // The table is full now: more critical echoes wait (never shed), in the engine's queue.
    send('critical', 5);
    assert.ok(await waitFor(() => e.counters().queued >= 5 + 10 + 2, 60_000), JSON.stringify(e.counters()));
    assert.equal(c().critical.shed, 0);
    const replies = () => Object.values(outcomes).flat().filter((o) => o.kind === 'reply').length;
    assert.ok(await waitFor(() => replies() === 8 + 4 + 2 + 2, 60_000), `every echo holding a slot is answered (${replies()})`);
  } finally {
    e.close();
  }
});
