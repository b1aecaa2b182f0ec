// The scheduler runs each target once per interval, spread over the interval, respects the
// in-flight cap, and on stop lets in-flight probes finish.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { planJobs } from '../../src/schedule/plan';
import { Scheduler } from '../../src/schedule/scheduler';
import type { ProbeResult } from '../../src/result';
import { testRuntime } from '../runtime';

/** n listeners on 127.0.0.1, so that a task can have n distinct targets. */
async function listeners(n: number, onConn: (s: net.Socket) => void): Promise<{ targets: string[]; close: () => void }> {
  const servers: net.Server[] = [];
  for (let i = 0; i < n; i++) {
    // tcp_connect ends with RST by default (reset_on_close): the server side sees ECONNRESET.
    const s = net.createServer((c) => {
      c.on('error', () => undefined);
      onConn(c);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  return {
    targets: servers.map((s) => `127.0.0.1:${(s.address() as net.AddressInfo).port}`),
    close: () => servers.forEach((s) => s.close()),
  };
}

function plan(module: string, targets: string[], interval: string, timeout: string) {
  const cfg = loadConfigString(
    `modules:\n${module}tasks:\n  - name: t\n    module: m\n    interval: ${interval}\n    timeout: ${timeout}\n    targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]\n`,
    'sched.yml',
  );
  return planJobs(cfg);
}

const CONNECT = '  m:\n    prober: tcp\n    tcp: {preferred_ip_protocol: ip4}\n';
// A dialogue the servers never answer: each probe stays in flight until its timeout.
const SILENT = '  m:\n    prober: tcp\n    tcp:\n      preferred_ip_protocol: ip4\n      query_response: [{expect: "^never"}]\n';

test('each target runs once per interval, at spread-out times', async () => {
  const srv = await listeners(20, (c) => c.end());
  const times = new Map<string, number[]>();
  const sched = new Scheduler({
    logger: silentLogger,
    runtime: testRuntime,
    maxInFlight: 100,
    onResult: (job, r: ProbeResult) => {
      assert.equal(r.success, true, r.message);
      times.set(job.target, [...(times.get(job.target) ?? []), r.startedAt]);
    },
  });
  sched.setPlan(plan(CONNECT, srv.targets, '300ms', '250ms'));
  sched.start();
  await new Promise((r) => setTimeout(r, 1250));
  await sched.stop(1000);
  srv.close();
  assert.equal(times.size, 20);
  for (const [target, ts] of times) {
    assert.ok(ts.length >= 3 && ts.length <= 5, `${target} ran ${ts.length} times in 1.25 s at a 300 ms interval`);
    for (let i = 1; i < ts.length; i++) assert.ok(Math.abs(ts[i] - ts[i - 1] - 300) < 60, `${target}: runs ${ts[i] - ts[i - 1]} ms apart`);
  }
  const firsts = [...times.values()].map((t) => t[0]).sort((a, b) => a - b);
  assert.ok(firsts[firsts.length - 1] - firsts[0] > 100, 'first runs are spread over the interval, not one burst');
});

test('the in-flight cap holds, and stop waits for the probes in flight', async () => {
  const srv = await listeners(10, (c) => c.on('error', () => undefined));
  const results: ProbeResult[] = [];
  const sched = new Scheduler({ logger: silentLogger, runtime: testRuntime, maxInFlight: 3, onResult: (_j, r) => results.push(r) });
  sched.setPlan(plan(SILENT, srv.targets, '5s', '800ms'));
  sched.start();
  let maxOpen = 0;
  const sampler = setInterval(() => (maxOpen = Math.max(maxOpen, sched.inFlight)), 5);
  // Stop while probes are in flight, after some have finished.
  const deadline = Date.now() + 8000;
  while (!(sched.inFlight > 0 && results.length >= 3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  clearInterval(sampler);
  const inFlight = sched.inFlight;
  const before = results.length;
  const t0 = Date.now();
  await sched.stop(5000);
  const waited = Date.now() - t0;
  srv.close();
  assert.ok(inFlight > 0, 'probes were in flight when stop was called');
  assert.ok(maxOpen <= 3, `at most 3 probes in flight, saw ${maxOpen}`);
  assert.ok(waited < 1500, `stop waited ${waited} ms for probes with an 800 ms timeout`);
  assert.equal(sched.inFlight, 0);
  assert.equal(results.length, before + inFlight, 'each probe in flight at stop still reported its result');
  assert.ok(results.every((r) => !r.success && r.reason === 'timeout'), 'silent servers time out');
});

test('demand above the in-flight cap skips runs instead of queueing them without bound', async () => {
  const srv = await listeners(20, (c) => c.on('error', () => undefined));
  const skippedBy = new Map<string, number>();
  const sched = new Scheduler({
    logger: silentLogger,
    runtime: testRuntime,
    maxInFlight: 2,
    onResult: () => undefined,
    onSkip: (job) => skippedBy.set(job.target, (skippedBy.get(job.target) ?? 0) + 1),
  });
  // 20 targets due every 100 ms (200 runs/s) against 2 slots of probes that each take 100 ms (20/s).
  sched.setPlan(plan(SILENT, srv.targets, '100ms', '100ms'));
  sched.start();
  let maxQueued = 0;
  const sampler = setInterval(() => (maxQueued = Math.max(maxQueued, sched.queued)), 5);
  await new Promise((r) => setTimeout(r, 1000));
  clearInterval(sampler);
  await sched.stop(1000);
  srv.close();
  assert.ok(maxQueued <= 20, `at most one waiting run per job, saw ${maxQueued} queued`);
  assert.ok(sched.skipped > 100, `the runs that could not start were skipped (${sched.skipped})`);
  assert.equal([...skippedBy.values()].reduce((a, b) => a + b, 0), sched.skipped, 'every skip was reported');
});
