// The /probe registry must render what prom-client renders for the same gauges, byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { formatValue, ProbeRegistry } from '../../src/outputs/blackbox/registry';

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

test('values print as String(Math.round(v * 1e9) / 1e9) prints them, whatever their size', () => {
  const reference = (v: number) => String(Math.round(v * 1e9) / 1e9);
  // Durations of every magnitude, whole seconds, values with trailing zeros, negatives, the edges of
  // the integer fast path, and a deterministic spread of pseudo-random doubles.
  const values = [1e-9, 5e-7, 9.99e-7, 1e-6, 0.000001001, 0.000030123, 0.1, 0.25, 1.5, 2, 1023.5, 1024, 1024.000000001, 86399.999999999, 999999.9999999];
  values.push(-0.5, -1e-6, -0.000030123, -12.345678912);
  let x = 0x2545f491;
  for (let i = 0; i < 20000; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const scale = 10 ** ((x % 15) - 8); // 1e-8 .. 1e6
    values.push((x / 0xffffffff) * scale);
  }
  for (const v of values) assert.equal(formatValue(v), v >= 0 && v < 1024 && Number.isInteger(v) ? String(v) : reference(v), `value ${v}`);
  assert.equal(formatValue(1e6), '1000000');
  assert.equal(formatValue(1.5e7), '15000000');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(-Infinity), '-Inf');
});
