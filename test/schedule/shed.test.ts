// QoS shedding on a fake clock: under overload (runs waiting past shed_queue, or event-loop lag past
// shed_lag) best_effort runs are shed first, then standard; critical runs keep their schedule.
// Every shed run is counted with its reason, and the counts add up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness, taskJobs } from './sched_harness';

const zeros = (n: number): number[] => Array<number>(n).fill(0);

function threeClasses(prefix = 127): ReturnType<typeof taskJobs> {
  return [
    ...taskJobs('crit', 0, { qos: 'critical', targets: [`${prefix}.0.1.1:1`, `${prefix}.0.1.2:1`] }, [0.1, 0.1]),
    ...taskJobs('std', 0, { qos: 'standard', targets: [`${prefix}.0.2.1:1`, `${prefix}.0.2.2:1`] }, [0.1, 0.1]),
    ...taskJobs('be', 0, { qos: 'best_effort', targets: [`${prefix}.0.3.1:1`, `${prefix}.0.3.2:1`] }, [0.1, 0.1]),
  ];
}

function balanced(h: Harness): void {
  const c = h.sched.counts;
  assert.equal(c.due, c.started + h.sched.skipped + c.shed.queue + c.shed.lag + h.sched.queued, 'due = started + skipped + shed + waiting');
  assert.equal(h.sheds.length, c.shed.queue + c.shed.lag + c.shed.engine, 'every shed run reported');
}

const classOf = (target: string): string => ['crit', 'std', 'be'][Number(target.split('.')[2]) - 1];

test('event-loop lag: past shed_lag best_effort is shed, past twice it standard too; critical always runs', async (t) => {
  const cases = [
    { what: 'no lag: all run', lag: 0.1, runs: ['crit', 'crit', 'std', 'std', 'be', 'be'], shed: [] as string[] },
    { what: 'lag past shed_lag', lag: 0.3, runs: ['crit', 'crit', 'std', 'std'], shed: ['be', 'be'] },
    { what: 'lag past twice shed_lag', lag: 0.5, runs: ['crit', 'crit'], shed: ['std', 'std', 'be', 'be'] },
  ];
  for (const c of cases) {
    await t.test(c.what, async () => {
      const h = new Harness({ extra: { lag: () => c.lag, settings: { shed_lag: 0.2 } } });
      h.plan(threeClasses());
      h.sched.start();
      await h.clock.advance(1500);
      assert.deepEqual(h.startOrder.map(classOf).sort(), [...c.runs].sort());
      assert.deepEqual(h.sheds.map((s) => classOf(s.target)).sort(), [...c.shed].sort());
      assert.ok(h.sheds.every((s) => s.reason === 'lag'));
      balanced(h);
    });
  }
});

test('a long queue sheds best_effort, then standard, while critical runs wait their turn and all start', async () => {
  // One slot held for 10 s; five critical runs queue behind it (past shed_queue 2, past twice it).
  const h = new Harness({ maxInFlight: 1, duration: (j) => (j.task.name === 'hold' ? 10_000 : 100), extra: { settings: { shed_queue: 2 } } });
  h.plan([...taskJobs('hold', 0, { qos: 'critical', targets: ['127.0.9.9:1'], interval: 100 }, [0]), ...taskJobs('crit5', 5, { qos: 'critical' }, [0.01, 0.01, 0.01, 0.01, 0.01]), ...threeClasses(127)]);
  h.sched.start();
  await h.clock.advance(9_900);
  assert.deepEqual(h.sheds.map((s) => `${classOf(s.target)} ${s.reason}`).sort(), ['be queue', 'be queue', 'std queue', 'std queue']);
  assert.equal(h.sched.queued, 7, 'every critical run waits, none shed');
  await h.clock.advance(1000); // the slot is free from 10 s
  const order = h.startOrder;
  assert.equal(order[0], '127.0.9.9:1');
  assert.deepEqual(order.slice(1, 6).sort(), taskJobs('crit5', 5).map((j) => j.target).sort(), 'the waiting critical runs go first when the slot frees');
  assert.ok(order.includes('127.0.1.1:1') && order.includes('127.0.1.2:1'), 'critical runs of the other task run too');
  assert.equal(order.length, 8);
  balanced(h);
});

test('runs already waiting are shed when overload begins; critical ones stay', async () => {
  let lag = 0;
  const h = new Harness({ maxInFlight: 1, duration: (j) => (j.task.name === 'hold' ? 2000 : 100), extra: { lag: () => lag, settings: { shed_lag: 0.2 } } });
  h.plan([...taskJobs('hold', 0, { qos: 'critical', targets: ['127.0.9.9:1'], interval: 100 }, [0]), ...threeClasses()]);
  h.sched.start();
  await h.clock.advance(1500); // the others are due at 1 s and wait for the slot
  assert.equal(h.sched.queued, 6);
  lag = 0.3; // the loop lags: when the slot frees at 2 s, best_effort is shed, the rest runs
  await h.clock.advance(1000);
  assert.deepEqual(h.sheds.map((s) => classOf(s.target)), ['be', 'be']);
  assert.equal(h.sched.queued + h.active + h.starts.length - 1, 4, 'critical and standard still run or wait');
  balanced(h);
});

test('/probe requests in flight keep best_effort runs out of the global slots, not the others', async () => {
  let external = 2;
  const h = new Harness({ maxInFlight: 3, extra: { external: () => external } });
  h.plan([...taskJobs('std', 0, { targets: ['127.0.2.1:1'] }, [0]), ...taskJobs('be', 0, { qos: 'best_effort', targets: ['127.0.3.1:1'] }, zeros(1))]);
  h.sched.start();
  await h.clock.advance(50);
  assert.deepEqual(h.startOrder, ['127.0.2.1:1'], 'best_effort waits while /probe holds the slots it would take');
  external = 0;
  await h.clock.advance(100); // the standard run ends at 100 ms: the drain lets best_effort in
  assert.deepEqual(h.startOrder, ['127.0.2.1:1', '127.0.3.1:1']);
  balanced(h);
});

test('a run a native engine sheds is counted as shed (engine), never as a result of its target', async () => {
  // The engine sheds best_effort probes (its queue past scheduler.engine_queue_bound): the runner's
  // result says reason 'shed'; the others run as usual.
  const h = new Harness({
    wrap: (run) => async (job, signal) => {
      const r = await run(job, signal);
      return job.task.qos === 'best_effort' ? { ...r, success: false, reason: 'shed', message: 'shed by the engine' } : r;
    },
  });
  h.plan(threeClasses());
  h.sched.start();
  await h.clock.advance(1500);
  const c = h.sched.counts;
  assert.deepEqual(h.sheds.map((s) => `${classOf(s.target)} ${s.reason}`), ['be engine', 'be engine']);
  assert.equal(c.shed.engine, 2);
  assert.deepEqual(h.results.map((r) => classOf(r.target)).sort(), ['crit', 'crit', 'std', 'std'], 'no result for the shed runs');
  assert.equal(c.started, 6, 'they were started: the engine shed them');
  balanced(h);
});
