// The /probe registry must render what prom-client renders for the same gauges, byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { ProbeRegistry } from '../../src/outputs/blackbox/registry';

test('same text as prom-client: plain and labelled gauges, escaping, special values, order', async () => {
  const cases: Array<{ name: string; help: string; labelNames: string[]; sets: Array<[Record<string, string> | null, number]> }> = [
    { name: 'probe_success', help: 'Displays whether or not the probe was a success', labelNames: [], sets: [[null, 1]] },
    { name: 'probe_http_duration_seconds', help: 'Duration by phase', labelNames: ['phase'], sets: [[{ phase: 'resolve' }, 0.000012], [{ phase: 'connect' }, 1e-7], [{ phase: 'resolve' }, 3]] },
    { name: 'x_info', help: 'a "help"\nwith \\ escapes', labelNames: ['a', 'b'], sets: [[{ b: 'q"uote', a: 'back\\slash\nnl' }, 1]] },
    { name: 'x_special', help: 'h', labelNames: ['k'], sets: [[{ k: '1' }, NaN], [{ k: '2' }, Infinity], [{ k: '3' }, -Infinity], [{ k: '4' }, -0.5]] },
    { name: 'x_unset', help: 'never set', labelNames: [], sets: [] },
  ];
  const ours = new ProbeRegistry();
  const theirs = new Registry();
  for (const c of cases) {
    const g1 = ours.gauge(c.name, c.help, c.labelNames);
    const g2 = new Gauge({ name: c.name, help: c.help, labelNames: c.labelNames, registers: [theirs] });
    for (const [labels, v] of c.sets) {
      if (labels) {
        g1.set(labels, v);
        g2.set(labels, v);
      } else {
        g1.set(v);
        g2.set(v);
      }
    }
  }
  // One deliberate difference: prom-client writes NaN as "Nan"; the exposition format (and Go's
  // client, hence blackbox_exporter) writes "NaN".
  assert.equal(await ours.metrics(), (await theirs.metrics()).replace(/ Nan$/gm, ' NaN'));
  assert.equal(ours.contentType, theirs.contentType);
});

test('a duplicate name or an undeclared label is a bug, reported as such', () => {
  const r = new ProbeRegistry();
  const g = r.gauge('a', 'h', ['x']);
  assert.throws(() => r.gauge('a', 'h'), /already been registered/);
  assert.throws(() => g.set({ y: '1' }, 1), /not included in initial labelset/);
});
