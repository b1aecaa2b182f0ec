// tenants:, scheduler: and the task keys that use them (tenant, qos, paused, max_concurrency, breaker).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configYAML } from '../../src/api/pages';
import { ConfigError, loadConfigString } from '../../src/config/load';

const TASK = (extra: string) => `modules: {tcp: {prober: tcp}}\ntasks:\n  - name: t\n    module: tcp\n    targets: [127.0.0.1:22]\n${extra}`;

function issues(text: string): string[] {
  try {
    loadConfigString(text, 'c.yml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n');
  }
  assert.fail('the config loaded');
}

test('tenants as a list or a mapping; absent bounds are unbounded', () => {
  for (const text of ['tenants:\n  - {name: a, max_concurrency: 5}\n  - {name: b, max_probes_per_second: 100}\n', 'tenants:\n  a: {max_concurrency: 5}\n  b: {max_probes_per_second: 100}\n']) {
    const c = loadConfigString(text, 'c.yml');
    assert.deepEqual([...c.tenants!.values()], [
      { name: 'a', max_concurrency: 5, max_probes_per_second: Infinity },
      { name: 'b', max_concurrency: Infinity, max_probes_per_second: 100 },
    ]);
  }
  assert.equal(loadConfigString('modules: {}', 'c.yml').tenants, undefined);
});

test('scheduler: defaults for what it leaves out, shed_lag as a duration', () => {
  const c = loadConfigString('scheduler: {max_per_host: 8, shed_lag: 50ms}', 'c.yml');
  assert.deepEqual(c.scheduler, {
    max_in_flight: 4096,
    max_per_host: 8,
    shed_queue: 100000,
    shed_lag: 0.05,
    engine_best_effort_share: 0.5,
    engine_standard_share: 0.8,
    engine_queue_bound: 8192,
  });
  const e = loadConfigString('scheduler: {engine_best_effort_share: 0.25, engine_standard_share: 1, engine_queue_bound: 0}', 'c.yml').scheduler;
  assert.deepEqual([e?.engine_best_effort_share, e?.engine_standard_share, e?.engine_queue_bound], [0.25, 1, 0]);
  assert.equal(loadConfigString('modules: {}', 'c.yml').scheduler, undefined);
});

test('task keys tenant, qos, paused, max_concurrency, breaker', () => {
  const c = loadConfigString(`tenants: {team: {}}\n${TASK('    tenant: team\n    qos: best_effort\n    paused: true\n    max_concurrency: 3\n    breaker: {failures: 5}\n')}`, 'c.yml');
  const t = c.tasks[0];
  assert.deepEqual([t.tenant, t.qos, t.paused, t.max_concurrency, t.breaker], ['team', 'best_effort', true, 3, { failures: 5, cooldown: 300 }]);
  const plain = loadConfigString(TASK(''), 'c.yml').tasks[0];
  assert.deepEqual([plain.tenant, plain.qos, plain.paused, plain.max_concurrency, plain.breaker], [undefined, undefined, undefined, undefined, undefined]);
});

const CASES: Array<[string, string, string[]]> = [
  ['an unknown tenant names the known ones', `tenants: [{name: a}, {name: b}]\n${TASK('    tenant: c\n')}`, ['c.yml:7:13: tasks[0].tenant: got "c", expected one of the tenants: a, b']],
  ['a tenant without tenants:', TASK('    tenant: c\n'), ['c.yml:6:13: tasks[0].tenant: got "c", expected one of the tenants: (none defined in tenants:)']],
  ['a tenant named twice', 'tenants:\n  - {name: a}\n  - {name: a}\n', ['c.yml:3:12: tenants[1].name: got "a", expected a unique tenant name']],
  ['a list tenant without a name', 'tenants: [{max_concurrency: 1}]\n', ['c.yml:1:11: tenants[0].name: missing required key']],
  [
    'a bad tenant name and a zero bound',
    'tenants:\n  "a b": {}\n  c: {max_concurrency: 0}\n',
    ['c.yml:2:3: tenants["a b"]: got "a b", expected a tenant name matching [a-zA-Z_][a-zA-Z0-9_:-]*', 'c.yml:3:24: tenants.c.max_concurrency: got 0, expected an integer >= 1'],
  ],
  ['tenants of the wrong shape', 'tenants: 3\n', ['c.yml:1:10: tenants: got 3, expected a list of tenants or a mapping of tenant names to tenants']],
  ['a tenant key unknown', 'tenants: {a: {rate: 1}}\n', ['c.yml:1:15: tenants.a.rate: unknown key (expected one of: max_concurrency, max_probes_per_second)']],
  ['scheduler: a bad lag and an unknown key', 'scheduler: {shed_lag: 0s, queue: 1}\n', ['c.yml:1:23: scheduler.shed_lag: got "0s", expected a duration greater than 0s', 'c.yml:1:27: scheduler.queue: unknown key (expected one of: max_in_flight, max_per_host, shed_queue, shed_lag, engine_best_effort_share, engine_standard_share, engine_queue_bound)']],
  [
    'scheduler: engine shares out of range',
    'scheduler: {engine_best_effort_share: 0, engine_standard_share: 1.5, engine_queue_bound: -1}\n',
    [
      "c.yml:1:39: scheduler.engine_best_effort_share: got 0, expected a number above 0 and at most 1 (a share of an engine's slots)",
      "c.yml:1:65: scheduler.engine_standard_share: got 1.5, expected a number above 0 and at most 1 (a share of an engine's slots)",
      'c.yml:1:90: scheduler.engine_queue_bound: got -1, expected an integer from 0 to 16777216',
    ],
  ],
  [
    'scheduler: best_effort share above standard',
    'scheduler: {engine_best_effort_share: 0.9}\n',
    ["c.yml:1:39: scheduler.engine_best_effort_share: got engine_best_effort_share 0.9 above engine_standard_share 0.8, expected at most it (best_effort's slots count in standard's)"],
  ],
  ['a bad qos', TASK('    qos: urgent\n'), ['c.yml:6:10: tasks[0].qos: got "urgent", expected one of: critical, standard, best_effort']],
  ['paused not a boolean', TASK('    paused: yes\n'), ['c.yml:6:13: tasks[0].paused: got "yes", expected true or false']],
  ['a breaker cool-down of 0', TASK('    breaker: {failures: 3, cooldown: 0}\n'), ['c.yml:6:38: tasks[0].breaker.cooldown: got 0, expected a duration greater than 0s']],
  ['max_concurrency 0', TASK('    max_concurrency: 0\n'), ['c.yml:6:22: tasks[0].max_concurrency: got 0, expected an integer >= 1']],
];

for (const [what, text, expected] of CASES) {
  test(`refused: ${what}`, () => assert.deepEqual(issues(text), expected));
}

test('/config shows tenants and scheduler with their defaults', () => {
  const text = configYAML(loadConfigString('tenants: [{name: a, max_concurrency: 5}]\nscheduler: {max_per_host: 8}\n', 'c.yml'));
  assert.match(text, /^tenants:\n {2}- name: a\n {4}max_concurrency: 5\n {4}max_probes_per_second: \.inf\n/m);
  assert.match(text, /^scheduler:\n {2}max_in_flight: 4096\n {2}max_per_host: 8\n {2}shed_queue: 100000\n {2}shed_lag: 0.2\n {2}engine_best_effort_share: 0.5\n {2}engine_standard_share: 0.8\n {2}engine_queue_bound: 8192\n/m);
});
