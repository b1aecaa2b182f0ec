// The plan gives each job a phase that is stable across reloads and spreads the targets of a task
// over the interval even when the targets differ in their last characters only (the usual case).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigString } from '../../src/config/load';
import { planJobs } from '../../src/schedule/plan';

function phases(targets: string[]): number[] {
  const prober = targets[0].startsWith('http') ? 'http' : 'tcp';
  const cfg = loadConfigString(
    `modules:\n  m:\n    prober: ${prober}\ntasks:\n  - name: t\n    module: m\n    interval: 10s\n    targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]\n`,
    'plan.yml',
  );
  return planJobs(cfg).map((j) => j.phase);
}

const cases = [
  { what: 'sequential addresses', targets: Array.from({ length: 200 }, (_, i) => `10.0.${i >> 8}.${i & 255}:80`) },
  { what: 'sequential ports', targets: Array.from({ length: 200 }, (_, i) => `127.0.0.1:${9001 + i}`) },
  { what: 'one query parameter', targets: Array.from({ length: 200 }, (_, i) => `http://127.0.0.1/?t=${i}`) },
];

for (const c of cases) {
  test(`phases of ${c.what} fill every tenth of the interval, none more than twice its share`, () => {
    const ps = phases(c.targets);
    assert.ok(
      ps.every((p) => p >= 0 && p < 1),
      'phases in [0, 1)',
    );
    const tenths = Array.from({ length: 10 }, (_, k) => ps.filter((p) => Math.floor(p * 10) === k).length);
    assert.ok(
      tenths.every((n) => n > 0 && n <= 40),
      `targets per tenth of the interval: ${tenths.join(' ')}`,
    );
    assert.deepEqual(phases(c.targets), ps, 'the same plan again gives the same phases');
  });
}
