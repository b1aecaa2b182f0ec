// The trace's schedule without packets: a fake engine whose target sits at TTL 4 shows that no
// probe goes past the target once it answered (the first round looks a window of TTLs at a time),
// that each hop gets no more than the kernel's bucket allows, and that an abort ends the run with
// the probes in flight not counted as sent.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import type { TraceEngine, TraceOutcome, TraceProbeSpec, TraceSendOptions } from '../../src/native/trace';
import { runTrace, TraceRun } from '../../src/probers/trace/run';
import { KERNEL_BURST } from '../../src/probers/trace/pacer';

const TARGET = '198.18.9.9';

/** Answers like a 3-router path: time exceeded below TTL 4, the target's echo reply from 4 up; `hold` keeps answers back. */
function fakeEngine(opts: { hold?: (p: TraceProbeSpec) => boolean } = {}) {
  const sent: Array<{ ttl: number; at: number }> = [];
  const engine = {
    send(probes: readonly TraceProbeSpec[], _o: TraceSendOptions, listener: (i: number, o: TraceOutcome) => void, onDone?: () => void) {
      let left = probes.length;
      probes.forEach((p, i) => {
        sent.push({ ttl: p.ttl, at: performance.now() });
        if (opts.hold?.(p)) return;
        const o: TraceOutcome = p.ttl < 4
          ? { kind: 'time_exceeded', code: 0, from: `198.18.0.${p.ttl}`, rtt: 0.0001, info: 0, quotedTtl: 1, key: 0, gen: 0, sentAt: 0 }
          : { kind: 'echo_reply', code: 0, from: TARGET, rtt: 0.0002, info: 0, quotedTtl: 0, key: 0, gen: 0, sentAt: 0 };
        setImmediate(() => {
          listener(i, o);
          if (--left === 0) onDone?.();
        });
      });
    },
  };
  return { engine: engine as unknown as TraceEngine, sent };
}

test('no probe past the target once it answered: the first round probes TTLs 1-5, later rounds stop at 4', async () => {
  const { engine, sent } = fakeEngine();
  const facts = await runTrace(engine, TARGET, { proto: 'icmp', port: 0, firstTtl: 1, maxTtl: 30, rounds: 8, interval: 0.001, timeout: 1, flows: 1, hopRateLimitMs: 10 });
  assert.equal(facts.reached, true);
  assert.deepEqual(facts.hops.map((h) => [h.ttl, h.sent, h.received]), [[1, 8, 8], [2, 8, 8], [3, 8, 8], [4, 8, 8]]);
  const byTtl = new Map<number, number>();
  for (const s of sent) byTtl.set(s.ttl, (byTtl.get(s.ttl) ?? 0) + 1);
  assert.deepEqual([...byTtl.entries()].sort((a, b) => a[0] - b[0]), [[1, 8], [2, 8], [3, 8], [4, 8], [5, 1]]);
});

test('each hop is paced under its bucket: after the burst, one probe per ratelimit (the target counts every TTL it answered)', async () => {
  const { engine, sent } = fakeEngine();
  const rate = 30;
  await runTrace(engine, TARGET, { proto: 'udp', port: 0, firstTtl: 1, maxTtl: 30, rounds: 12, interval: 0.001, timeout: 1, flows: 1, hopRateLimitMs: rate });
  const atTarget = sent.filter((s) => s.ttl >= 4).map((s) => s.at);
  const burst = KERNEL_BURST - 1;
  // Lower bounds only: a slow machine sends later, never sooner.
  for (let k = burst; k < atTarget.length; k++) {
    assert.ok(atTarget[k] - atTarget[0] >= (k - burst + 1) * rate, `probe ${k} to the target ${atTarget[k] - atTarget[0]} ms after the first`);
  }
  const atR1 = sent.filter((s) => s.ttl === 1).map((s) => s.at);
  for (let k = burst; k < atR1.length; k++) assert.ok(atR1[k] - atR1[0] >= (k - burst) * rate, `probe ${k} to r1`);
  // With the limits lifted (0), rounds follow the interval alone.
  const free = fakeEngine();
  await runTrace(free.engine, TARGET, { proto: 'udp', port: 0, firstTtl: 1, maxTtl: 8, rounds: 3, interval: 0.001, timeout: 1, flows: 1, hopRateLimitMs: 0 });
  assert.equal(free.sent.length, 8 + 4 + 4, 'round 0 all TTLs at once, then up to the target');
});

test('an abort ends the run at once; probes still waiting for an answer are not counted as sent (no false loss)', async () => {
  const ctl = new AbortController();
  let answered = 0;
  // Round 3 on is never answered: those probes are in flight when the run is stopped.
  let round = 0;
  const { engine } = fakeEngine({ hold: (p) => (p.ttl === 1 ? ++round : round) >= 3 });
  const run = new TraceRun(engine, TARGET, { proto: 'icmp', port: 0, firstTtl: 1, maxTtl: 10, rounds: 1000, interval: 0.01, timeout: 60, flows: 1, hopRateLimitMs: 0, signal: ctl.signal });
  const done = run.run();
  while (answered < 2) {
    await new Promise((r) => setTimeout(r, 5));
    answered = run.facts().hops[0]?.sent ?? 0;
  }
  await new Promise((r) => setTimeout(r, 50));
  ctl.abort();
  const facts = await done;
  assert.equal(facts.reached, true);
  for (const h of facts.hops) assert.deepEqual([h.ttl, h.sent, h.received, h.loss], [h.ttl, 2, 2, 0]);
});
