// The /probe registry renders what blackbox_exporter's Go client renders for the same gauges.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatValue, ProbeRegistry } from '../../src/outputs/blackbox/registry';

test('the text Go\'s client writes: families by name, series by label values, labels by name, no blank lines', () => {
  const r = new ProbeRegistry();
  r.gauge('probe_success', 'Displays whether or not the probe was a success').set(1);
  const phases = r.gauge('probe_http_duration_seconds', 'Duration by phase', ['phase']);
  for (const [phase, v] of [['resolve', 0.000012], ['connect', 1e-7], ['tls', 0], ['resolve', 3]] as const) phases.set({ phase }, v);
  r.gauge('x_info', 'a "help"\nwith \\ escapes', ['b', 'a']).set({ b: 'q"uote', a: 'back\\slash\nnl' }, 1);
  const special = r.gauge('x_special', 'h', ['k']);
  for (const [k, v] of [['2', Infinity], ['1', NaN], ['4', -0.5], ['3', -Infinity]] as const) special.set({ k }, v);
  r.gauge('a_unset', 'never set');
  r.gauge('a_empty_vec', 'no series', ['x']);
  assert.equal(
    r.metricsSync(),
    [
      '# HELP a_unset never set',
      '# TYPE a_unset gauge',
      'a_unset 0',
      '# HELP probe_http_duration_seconds Duration by phase',
      '# TYPE probe_http_duration_seconds gauge',
      'probe_http_duration_seconds{phase="connect"} 1e-7',
      'probe_http_duration_seconds{phase="resolve"} 3',
      'probe_http_duration_seconds{phase="tls"} 0',
      '# HELP probe_success Displays whether or not the probe was a success',
      '# TYPE probe_success gauge',
      'probe_success 1',
      '# HELP x_info a "help"\\nwith \\\\ escapes',
      '# TYPE x_info gauge',
      'x_info{a="back\\\\slash\\nnl",b="q\\"uote"} 1',
      '# HELP x_special h',
      '# TYPE x_special gauge',
      'x_special{k="1"} NaN',
      'x_special{k="2"} +Inf',
      'x_special{k="3"} -Inf',
      'x_special{k="4"} -0.5',
      '',
    ].join('\n'),
  );
  assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
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
