// A bounded load test on the real clock with real tcp probes over loopback: 50,000 targets in four
// tasks (critical, a tenant held to 200 probes/s, a best_effort task whose targets all fall due at
// once, and refused targets behind a circuit breaker) for ~20 s. Nothing may be lost: every due run
// is started, skipped with a cause, shed with a reason, held by a breaker, or still waiting, and
// every started run reports a result. Only identities are asserted, never rates: the machine may
// be loaded (2 shared cores).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import type { Module, Task } from '../../src/config/types';
import { Breakers } from '../../src/health/breaker';
import { HealthStage } from '../../src/health/stage';
import { silentLogger } from '../../src/log';
import { planTask } from '../../src/schedule/plan';
import { runProbe } from '../../src/schedule/run_probe';
import { Scheduler, type ShedReason, type SkipCause } from '../../src/schedule/scheduler';
import { testRuntime } from '../runtime';

const RUN_MS = Number(process.env.SONDE_LOAD_MS ?? 20_000);

// 200 listeners on 127.0.0.1: 200 distinct targets that answer.
const listeners: net.Server[] = [];
const ports: number[] = [];
before(async () => {
  for (let i = 0; i < 200; i++) {
    const l = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => l.listen(0, '127.0.0.1', r));
    listeners.push(l);
    ports.push((l.address() as net.AddressInfo).port);
  }
});
after(() => listeners.forEach((l) => l.close()));

/** `n` distinct loopback targets; only 127.0.0.1 listens, the rest of 127.0.0.0/8 refuses at once. */
function targets(n: number, from: number, p: () => number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const a = from + i;
    return `127.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}:${p()}`;
  });
}

function task(name: string, list: string[], extra: Partial<Task>): Task {
  return { name, module: 'tcp', targets: list, interval: 10, timeout: 2, jitter: 0, success_threshold: 1, failure_threshold: 1, labels: {}, max_target_series: 10, ...extra };
}

test('50,000 targets for 20 s: every due run is started, skipped, shed or held, and the counts add up', { timeout: RUN_MS + 120_000 }, async (t) => {
  const module = loadConfigString('modules:\n  tcp:\n    prober: tcp\n    timeout: 2s\n    tcp: {preferred_ip_protocol: ip4}\ntasks: []\n', 'load.yml').modules.get('tcp') as Module;
  let next = 2;
  const mixed = (n: number): string[] => {
    next += n;
    return targets(n, next - n, () => ports[0]);
  };
  // One critical target in ten is the listener itself, so successes and refusals mix.
  const crit = mixed(2_000).map((t, i) => (i % 10 === 0 ? `127.0.0.1:${ports[i / 10]}` : t));
  const blocks = [
    planTask(task('crit', crit, { qos: 'critical', interval: 10 }), module),
    planTask(task('limited', mixed(8_000), { tenant: 'small', interval: 20 }), module),
    // Every target due at the same instant: the queue passes shed_queue and best_effort is shed.
    // (grid points are on the wall clock: the phase that puts them 2 s from now)
    planTask(task('be', mixed(38_000), { qos: 'best_effort', interval: 30 }), module, new Float64Array(38_000).fill(((Date.now() + 2000) % 30_000) / 30_000)),
    planTask(task('brk', targets(2_000, 0x7f0001, () => 1), { interval: 2, breaker: { failures: 2, cooldown: 5 } }), module),
  ];
  const health = new HealthStage();
  const breakers = new Breakers(health);
  health.applyTasks(blocks);
  breakers.applyTasks(blocks);
  const tally = { started: 0, results: 0, ok: 0, skipped: { busy: 0, stall: 0, held: 0, reload: 0 } as Record<SkipCause, number>, shed: { queue: 0, lag: 0, engine: 0 } as Record<ShedReason, number>, shedBy: new Map<string, number>(), failedRuns: 0 };
  const logger = silentLogger.child({});
  logger.error = ((): void => void tally.failedRuns++) as typeof logger.error;
  const sched = new Scheduler({
    logger,
    settings: { max_in_flight: 256, shed_queue: 5_000, max_per_host: 64 },
    tenants: new Map([['small', { name: 'small', max_concurrency: 32, max_probes_per_second: 200 }]]),
    gate: breakers,
    runner: (job) => {
      tally.started++;
      return runProbe(job.target, job.module, { timeoutSeconds: job.task.timeout, logger: silentLogger, runtime: testRuntime });
    },
    onResult: (job, r) => {
      tally.results++;
      if (r.success) tally.ok++;
      health.record(job, r);
    },
    onSkip: (_job, count, cause) => (tally.skipped[cause] += count),
    onShed: (job, reason) => {
      tally.shed[reason]++;
      tally.shedBy.set(job.task.name, (tally.shedBy.get(job.task.name) ?? 0) + 1);
    },
  });
  sched.applyTasks(blocks);
  sched.start();
  await new Promise((r) => setTimeout(r, RUN_MS));
  // Read in one synchronous step: nothing moves between these reads.
  const c = structuredClone(sched.counts);
  const queued = sched.queued;
  const inFlight = sched.inFlight;
  await sched.stop(10_000);
  t.diagnostic(`load: ${JSON.stringify({ ...c, queued, inFlight, results: tally.results, ok: tally.ok, shedBy: Object.fromEntries(tally.shedBy) })}`);

  const skipped = Object.values(c.skipped).reduce((a, b) => a + b, 0);
  assert.equal(c.due, c.started + skipped + c.shed.queue + c.shed.lag + queued, 'due = started + skipped + shed + waiting');
  assert.equal(c.started, tally.started, 'every start went to the runner');
  assert.deepEqual(tally.skipped, c.skipped, 'every skip reported with its cause');
  assert.deepEqual(tally.shed, c.shed, 'every shed run reported with its reason');
  assert.equal(tally.failedRuns, 0, 'no runner failed');
  assert.equal(tally.results, tally.started, 'every started run reported a result (the stop waited for them)');
  assert.ok(c.started - inFlight <= tally.results);
  assert.ok(c.due >= 40_000, `the herd of best_effort runs fell due (${c.due} due)`);
  assert.ok((tally.shedBy.get('be') ?? 0) > 0, 'best_effort runs were shed by the queue');
  assert.equal(tally.shedBy.get('crit') ?? 0, 0, 'critical runs are never shed');
  assert.ok(tally.ok > 0, 'the listener answered');
  assert.ok(c.skipped.held > 0, 'open breakers held runs of the refused targets');
  assert.ok([...sched.tenantStates()].some((t) => t.name === 'small' && t.throttled > 0), 'the small tenant was throttled');
});
