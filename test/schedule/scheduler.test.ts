// The scheduler on a fake clock (no sleeps, no sockets): runs on the phase grid of each task's
// interval plus jitter, keeps its rhythm across reloads, skips ahead after a stall, lets in-flight
// runs finish within the stop grace, and never runs more than the in-flight cap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, makeJobs } from './sched_harness';

/** A deterministic source in [0, 1) (an LCG), remembering what it dealt. */
function dealer(seed = 7): { random: () => number; dealt: number[] } {
  let s = seed;
  const dealt: number[] = [];
  return {
    dealt,
    random: () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      dealt.push(s / 0x100000000);
      return s / 0x100000000;
    },
  };
}

const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-3;

test('each job runs once per interval at its phase within the interval', async () => {
  const h = new Harness();
  const jobs = makeJobs({ interval: '4s', targets: 4, phases: [0, 0.25, 0.5, 0.75] });
  h.plan(jobs);
  h.sched.start();
  await h.clock.advance(11_999);
  assert.deepEqual(
    jobs.map((j) => h.startsOf(j.target)),
    [
      [0, 4000, 8000],
      [1000, 5000, 9000],
      [2000, 6000, 10000],
      [3000, 7000, 11000],
    ],
  );
  assert.equal(h.results.length, 12, 'every run reported');
  assert.equal(h.sched.skipped, 0);
});

test("the plan's phases spread the targets of a task over the interval, not in one burst", async () => {
  const h = new Harness();
  const jobs = makeJobs({ interval: '10s', targets: 40 });
  h.plan(jobs);
  h.sched.start();
  await h.clock.advance(9_999);
  assert.equal(h.starts.length, 40, 'each target ran once in the first interval');
  for (const j of jobs) assert.ok(near(h.startsOf(j.target)[0], j.phase * 10_000), `${j.target} ran at its phase ${j.phase}`);
  const firsts = h.starts.map((s) => s.at).sort((a, b) => a - b);
  const gaps = firsts.map((t, i) => (i === 0 ? t + 10_000 - firsts[firsts.length - 1] : t - firsts[i - 1]));
  assert.ok(Math.max(...gaps) < 2_500, `no quarter of the interval is empty (largest gap ${Math.max(...gaps)} ms)`);
});

test('jitter delays each run by random() x jitter, within [0, jitter), without moving the grid', async () => {
  const d = dealer();
  const h = new Harness({ random: d.random });
  const [job] = makeJobs({ interval: '10s', jitter: '2s', targets: 1, phases: [0.1] });
  h.plan([job]);
  h.sched.start();
  await h.clock.advance(999_999);
  const starts = h.startsOf(job.target);
  assert.equal(starts.length, 100);
  const delays = starts.map((t, k) => t - (1000 + k * 10_000));
  // One draw per run, in order: run k is delayed by the k-th value the source dealt.
  delays.forEach((delay, k) => assert.ok(near(delay, d.dealt[k] * 2000), `run ${k} delayed ${delay} ms, dealt ${d.dealt[k]}`));
  assert.ok(
    delays.every((x) => x >= 0 && x < 2000),
    'every delay within [0, 2 s)',
  );
  assert.ok(Math.min(...delays) < 200 && Math.max(...delays) > 1800, 'delays spread over the jitter');
});

test('jitter near 1 stays inside the jitter and the next run comes from the grid', async () => {
  const values = [0, 0.5, 0.999999, 0.25];
  const h = new Harness({ random: () => values.shift() ?? 0 });
  const [job] = makeJobs({ interval: '10s', jitter: '2s', targets: 1, phases: [0] });
  h.plan([job]);
  h.sched.start();
  await h.clock.advance(39_999);
  const starts = h.startsOf(job.target);
  [0, 11_000, 21_999.998, 30_500].forEach((want, k) => assert.ok(near(starts[k], want), `run ${k} at ${starts[k]}, want ${want}`));
  assert.equal(starts.length, 4);
});

test('a reload keeps the next run of an unchanged job, even a jittered run not yet made', async () => {
  const h = new Harness({ random: () => 0.8 });
  const spec = { interval: '10s', jitter: '5s', targets: 2, phases: [0, 0.5] };
  const [a, b] = makeJobs(spec);
  h.plan([a, b]);
  h.sched.start();
  await h.clock.advance(2000); // a's grid point (0) has passed; its jittered run (4 s) has not
  const [a2] = makeJobs(spec); // a fresh config: new objects, same key and interval; b is removed
  const [, , c] = makeJobs({ ...spec, targets: 3, phases: [0, 0.5, 0.7] }); // c is added
  h.plan([a2, c]);
  await h.clock.advance(22_000);
  assert.deepEqual(h.startsOf(a.target), [4000, 14_000, 24_000], 'a keeps its grid point of 0 s');
  assert.deepEqual(h.startsOf(b.target), [], 'a removed job runs no more');
  assert.deepEqual(h.startsOf(c.target), [11_000, 21_000], 'an added job starts at its next grid point');
});

test('a reload that changes the interval re-anchors the job on the new grid', async () => {
  const h = new Harness();
  const [job] = makeJobs({ interval: '10s', targets: 1, phases: [0.5] });
  h.plan([job]);
  h.sched.start();
  await h.clock.advance(6500);
  h.plan(makeJobs({ interval: '4s', targets: 1, phases: [0.5] }));
  await h.clock.advance(12_000);
  assert.deepEqual(h.startsOf(job.target), [5000, 10_000, 14_000, 18_000], 'the next grid point of 4 s at phase 0.5 after 6.5 s is 10 s');
});

test('a run waiting for a slot keeps its place in the queue across a reload', async () => {
  const h = new Harness({ maxInFlight: 1, duration: (j) => (j.phase === 0 ? 5000 : 1000) });
  const spec = { interval: '10s', targets: 3, phases: [0, 0.1, 0.2] };
  const [a, b, c] = makeJobs(spec);
  h.plan([a, b, c]);
  h.sched.start();
  await h.clock.advance(3000); // a runs until 5 s; b (due 1 s) and c (due 2 s) wait
  assert.equal(h.sched.queued, 2);
  h.plan(makeJobs(spec).reverse());
  await h.clock.advance(9500);
  assert.deepEqual(
    h.starts.map((s) => [s.target, s.at]),
    [
      [a.target, 0],
      [b.target, 5000],
      [c.target, 6000],
      [a.target, 10_000],
    ],
  );
  assert.equal(h.sched.skipped, 0, 'a reload skips nothing');
});

test('after a stall each job runs once, not a burst of the missed runs, then on its grid again; the missed runs count as skipped', async () => {
  const h = new Harness();
  const [a, b] = makeJobs({ interval: '1s', targets: 2, phases: [0, 0.5] });
  h.plan([a, b]);
  h.sched.start();
  await h.clock.advance(2999);
  await h.clock.stall(10_250); // the event loop was blocked until 13.249 s
  await h.clock.advance(2751);
  assert.deepEqual(h.startsOf(a.target), [0, 1000, 2000, 13_249, 14_000, 15_000, 16_000]);
  assert.deepEqual(h.startsOf(b.target), [500, 1500, 2500, 13_249, 13_500, 14_500, 15_500]);
  // Missed during the stall: a's runs at 4 s .. 13 s (10), b's at 4.5 s .. 12.5 s (9), reported when the loop woke.
  const missed = (target: string) => h.skips.filter((s) => s.target === target).map((s) => `${s.at} ${s.cause}`);
  assert.deepEqual(missed(a.target), Array(10).fill('13249 stall'));
  assert.deepEqual(missed(b.target), Array(9).fill('13249 stall'));
  assert.deepEqual([h.sched.skipped, h.sched.stalled], [19, 19]);
  // Every grid point up to the end is accounted for: started or skipped (a: 0..16 s, b: 0.5..15.5 s).
  assert.equal(h.startsOf(a.target).length + missed(a.target).length, 17);
  assert.equal(h.startsOf(b.target).length + missed(b.target).length, 16);
});

test('stop waits for the runs in flight, starts no more, and leaves no timer', async () => {
  const h = new Harness({ maxInFlight: 1, duration: (j) => (j.phase === 0 ? 3000 : 1000) });
  const [a, b] = makeJobs({ interval: '10s', targets: 2, phases: [0, 0.1] });
  h.plan([a, b]);
  h.sched.start();
  await h.clock.advance(1500); // a runs until 3 s, b waits for the slot
  let stopped = false;
  void h.sched.stop(5000).then(() => (stopped = true));
  await h.clock.advance(1499);
  assert.equal(stopped, false, 'stop waits while a run is in flight');
  await h.clock.advance(1);
  assert.equal(stopped, true, 'stop resolves as the last run ends');
  assert.equal(h.sched.queued, 0, 'the run waiting for a slot was dropped');
  assert.ok(h.signals.every((s) => !s.aborted), 'runs that end within the grace are not aborted');
  assert.deepEqual(
    h.results.map((r) => [r.target, r.at, r.result.success]),
    [[a.target, 3000, true]],
  );
  h.plan([a, b]); // a reload racing the stop
  await h.clock.advance(60_000);
  assert.deepEqual(h.startOrder, [a.target], 'the waiting run and later ones never start, even after a reload');
  assert.equal(h.clock.pending, 0, 'no timer left behind');
  assert.equal(h.sched.inFlight + h.sched.queued, 0);
});

test('after the grace, runs still in flight are aborted through the signal and still report', async () => {
  const h = new Harness({ duration: () => 60_000 });
  const jobs = makeJobs({ interval: '100s', targets: 3, phases: [0, 0.001, 0.002] });
  h.plan(jobs);
  h.sched.start();
  await h.clock.advance(500);
  assert.equal(h.sched.inFlight, 3);
  let stopped = false;
  void h.sched.stop(2000).then(() => (stopped = true));
  await h.clock.advance(1999);
  assert.equal(stopped, false);
  assert.ok(h.signals.every((s) => !s.aborted), 'not aborted before the grace is over');
  await h.clock.advance(1);
  assert.equal(stopped, true);
  assert.ok(h.signals.every((s) => s.aborted));
  assert.deepEqual(
    h.results.map((r) => [r.at, r.result.success, r.result.reason]),
    jobs.map(() => [2500, false, 'timeout']),
    'each aborted run reported its result',
  );
  assert.equal(h.sched.inFlight, 0);
});

test('never more than maxInFlight run at once; waiting runs start in the order they became due', async () => {
  const h = new Harness({ maxInFlight: 2, duration: () => 4000 });
  // Listed against their due order, so that FIFO by due time differs from plan order.
  const jobs = makeJobs({ interval: '10s', targets: 4, phases: [0.3, 0.2, 0.1, 0] });
  h.plan(jobs);
  h.sched.start();
  let maxInFlight = 0;
  for (let t = 0; t < 19_750; t += 250) {
    await h.clock.advance(250);
    maxInFlight = Math.max(maxInFlight, h.sched.inFlight);
  }
  const [j3, j2, j1, j0] = jobs.map((j) => j.target);
  assert.deepEqual(
    h.starts.map((s) => [s.target, s.at]),
    [
      [j0, 0],
      [j1, 1000],
      [j2, 4000],
      [j3, 5000],
      [j0, 10_000],
      [j1, 11_000],
      [j2, 14_000],
      [j3, 15_000],
    ],
  );
  assert.equal(h.maxActive, 2, 'the runner never saw more than 2 runs at once');
  assert.equal(maxInFlight, 2);
  assert.equal(h.sched.skipped, 0, 'late, not skipped: each run started before its next was due');
});

test('a job waits for a slot at most once: its further due runs are skipped and reported', async () => {
  // One slot, runs of 2.03 s, three jobs due every second: 60 runs due in 20 s, room for 10.
  const h = new Harness({ maxInFlight: 1, duration: () => 2030 });
  const jobs = makeJobs({ interval: '1s', targets: 3, phases: [0, 0.1, 0.2] });
  h.plan(jobs);
  h.sched.start();
  let maxQueued = 0;
  for (let t = 0; t < 19_950; t += 50) {
    await h.clock.advance(50);
    maxQueued = Math.max(maxQueued, h.sched.queued);
  }
  await h.clock.advance(49); // to 19.999 s
  assert.ok(maxQueued <= jobs.length, `at most one waiting run per job, saw ${maxQueued} queued`);
  assert.deepEqual(
    h.starts.map((s) => s.at),
    Array.from({ length: 10 }, (_, k) => k * 2030),
    'the slot never idles',
  );
  const order = jobs.map((j) => j.target);
  assert.deepEqual(h.startOrder, Array.from({ length: 10 }, (_, k) => order[k % 3]), 'the jobs take turns (FIFO)');
  assert.equal(h.skips.length, h.sched.skipped, 'every skip reported through onSkip');
  assert.equal(h.starts.length + h.sched.skipped + h.sched.queued, 60, 'every due run started, was skipped, or still waits');
});

test('a job whose run is still in flight skips its due runs rather than overlap them', async () => {
  const h = new Harness({ duration: () => 2500 });
  const [job] = makeJobs({ interval: '1s', targets: 1, phases: [0] });
  h.plan([job]);
  h.sched.start();
  await h.clock.advance(9999);
  assert.deepEqual(h.startsOf(job.target), [0, 3000, 6000, 9000]);
  assert.equal(h.maxActivePerJob, 1);
  assert.deepEqual(
    h.skips.map((s) => s.at),
    [1000, 2000, 4000, 5000, 7000, 8000],
  );
  assert.equal(h.sched.skipped, 6);
});

test('a runner that throws or rejects frees its slot and the job runs on', async () => {
  let calls = 0;
  const h = new Harness({
    maxInFlight: 1,
    wrap: (run) => (job, signal) => {
      calls++;
      if (calls === 1) throw new Error('a bug in the runner');
      if (calls === 2) return Promise.reject(new Error('a bug in the runner'));
      return run(job, signal);
    },
  });
  const [job] = makeJobs({ interval: '1s', targets: 1, phases: [0] });
  h.plan([job]);
  h.sched.start();
  await h.clock.advance(2500);
  assert.equal(calls, 3, 'the job ran at 0, 1 and 2 s');
  assert.deepEqual(
    h.results.map((r) => r.at),
    [2100],
  );
  assert.equal(h.sched.inFlight, 0);
});
