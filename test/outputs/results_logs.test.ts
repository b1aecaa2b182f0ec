// /results entries and log lines: task labels, the target's health, one line per transition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { HealthStage } from '../../src/health/stage';
import { LatestResults } from '../../src/outputs/latest';
import { logResult, logTransition } from '../../src/outputs/log';
import { blocksOf, planJobs } from '../../src/schedule/plan';
import { config, result, traceResult } from '../health/fixtures';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

test('/results entries carry the task labels and the target health', () => {
  const health = new HealthStage();
  const latest = new LatestResults(health);
  const cfg = config({ name: 'web', labels: '{team: web}', failureThreshold: 2 }, { name: 'plain' });
  const jobs = planJobs(cfg);
  health.setPlan(blocksOf(jobs));
  latest.setPlan(blocksOf(jobs));
  const [web, plain] = jobs;
  const fail = result(web, false);
  for (const r of [result(web, false), fail]) {
    health.record(web, r);
    latest.record(web, r);
  }
  const ok = result(plain, true);
  health.record(plain, ok);
  latest.record(plain, ok);
  const [w, p] = latest.list().map((e) => latest.toJSON(e));
  assert.equal(w.task, 'web');
  assert.deepEqual(w.labels, { team: 'web' });
  assert.equal(w.reason, 'refused');
  assert.deepEqual(w.health, { up: false, streak: 2, last_change: new Date(fail.startedAt + 2).toISOString() });
  assert.deepEqual(p.labels, {}, 'a task without labels: an empty object, the same shape');
  assert.deepEqual(p.health, { up: true, streak: 1, last_change: null });
  // A reload that changes the labels: the entry shows the new ones.
  const next = planJobs(config({ name: 'web', labels: '{team: ops}', failureThreshold: 2 }));
  health.setPlan(blocksOf(next));
  latest.setPlan(blocksOf(next));
  assert.deepEqual(
    latest.list().map((e) => latest.toJSON(e).labels),
    [{ team: 'ops' }],
  );
  assert.equal(latest.list('web').length, 1);
  assert.equal(latest.list('plain').length, 0);
});

test('log lines of results carry the task labels, none when the task has none', () => {
  const { logger, lines } = capture();
  const [web, plain] = planJobs(config({ name: 'web', labels: '{team: web, tier: front}' }, { name: 'plain' }));
  logResult(logger, web, result(web, false));
  logResult(logger, web, result(web, true));
  logResult(logger, plain, result(plain, false));
  assert.deepEqual(
    lines.map((l) => [l.msg, l.task, l.labels]),
    [
      ['probe failed: refused', 'web', { team: 'web', tier: 'front' }],
      ['probe succeeded', 'web', { team: 'web', tier: 'front' }],
      ['probe failed: refused', 'plain', undefined],
    ],
  );
});

test('one log line per transition: down at warn with its reason, up and path changes at info', () => {
  const { logger, lines } = capture();
  const health = new HealthStage();
  health.subscribe((t) => logTransition(logger, t));
  const jobs = planJobs(config({ name: 'web', labels: '{team: web}', failureThreshold: 2, successThreshold: 2 }));
  health.setPlan(blocksOf(jobs));
  const [job] = jobs;
  for (const ok of [false, false, false, true, true, true]) health.record(job, result(job, ok));
  health.record(job, traceResult(job, 5));
  health.record(job, traceResult(job, 6));
  const level = { 30: 'info', 40: 'warn' } as Record<number, string>;
  assert.deepEqual(
    lines.map((l) => ({ level: level[l.level as number], msg: l.msg, task: l.task, target: l.target, labels: l.labels, reason: l.reason })),
    [
      { level: 'warn', msg: 'target down: refused', task: 'web', target: '127.0.0.1:1000', labels: { team: 'web' }, reason: 'refused' },
      { level: 'info', msg: 'target up', task: 'web', target: '127.0.0.1:1000', labels: { team: 'web' }, reason: undefined },
      { level: 'info', msg: 'trace path changed', task: 'web', target: '127.0.0.1:1000', labels: { team: 'web' }, reason: undefined },
    ],
  );
  assert.equal(lines[0].failures, 2);
  assert.equal(lines[0].detail, 'connect ECONNREFUSED');
  assert.equal(lines[1].successes, 2);
  assert.deepEqual([lines[2].previous_path_hash, lines[2].path_hash], [5, 6]);
});
