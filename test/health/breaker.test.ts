// The circuit breaker on a fake clock: open after N failures in a row, runs held while open (and
// counted as held), one probe after each cool-down (half-open), closed on success; transitions
// reported in order. The breaker hears results through the health stage, as in the daemon.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Breakers } from '../../src/health/breaker';
import { HealthStage } from '../../src/health/stage';
import type { ProbeResult } from '../../src/result';
import { Harness, taskJobs, T0 } from '../schedule/sched_harness';

function wired(failUntil: number, breaker = { failures: 3, cooldown: 5 }) {
  const health = new HealthStage();
  const moves: string[] = [];
  const breakers = new Breakers(health, { onTransition: (_b, _r, from, to) => moves.push(`${from}>${to}`) });
  const results: ProbeResult[] = [];
  // The target fails while the clock is before failUntil (ms since T0).
  const h = new Harness({
    extra: {
      gate: breakers,
      onResult: (job, r) => {
        const failed = r.startedAt - T0 < failUntil;
        const res = failed ? { ...r, success: false, reason: 'refused' as const } : r;
        results.push(res);
        health.record(job, res);
      },
    },
  });
  const jobs = taskJobs('t', 1, { interval: 1, breaker }, [0]);
  health.applyTasks([jobs[0].block]);
  breakers.applyTasks([jobs[0].block]);
  h.plan(jobs);
  return { h, moves, results, breakers, block: jobs[0].block };
}

test('open after 3 failures, held through the cool-down, half-open probes, closed on success', async () => {
  const { h, moves, breakers, block } = wired(14_000);
  h.sched.start();
  await h.clock.advance(16_500);
  // Fails at 0, 1, 2 s: open at 2.1 s; held 3..7 s; 8 s half-open fails: open until 13.1 s; held
  // 9..13 s; 14 s half-open succeeds: closed, and every run goes on.
  assert.deepEqual(h.startsOf('127.0.0.1:9001'), [0, 1000, 2000, 8000, 14_000, 15_000, 16_000]);
  assert.deepEqual(moves, ['closed>open', 'open>half_open', 'half_open>open', 'open>half_open', 'half_open>closed']);
  assert.equal(h.sched.counts.skipped.held, 10);
  assert.deepEqual(
    h.skips.filter((s) => s.cause === 'held').map((s) => s.at),
    [3000, 4000, 5000, 6000, 7000, 9000, 10_000, 11_000, 12_000, 13_000],
  );
  assert.equal(breakers.state(block, 0), 'closed');
  const c = h.sched.counts;
  assert.equal(c.due, c.started + h.sched.skipped + h.sched.queued, 'held runs are accounted for');
});

test('no breaker by default (failures 0): a failing target is probed every interval', async () => {
  const { h, moves } = wired(1e9, { failures: 0, cooldown: 5 });
  h.sched.start();
  await h.clock.advance(9_500);
  assert.equal(h.startsOf('127.0.0.1:9001').length, 10);
  assert.deepEqual(moves, []);
});

test('the counts per state follow the transitions', async () => {
  const { h, breakers } = wired(1e9);
  h.sched.start();
  await h.clock.advance(2500);
  const [{ counts }] = [...breakers.stateCounts()];
  assert.deepEqual([...counts], [0, 1, 0], 'closed, open, half_open');
});
