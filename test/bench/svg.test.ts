import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChart, cdfChart, esc, lineChart, ticks } from '../../bench/lib/svg';

/**
 * A strict enough well-formedness check for what svg.ts writes: one XML declaration, then elements
 * whose tags nest and close in order, attributes quoted, no raw '<' or '&' outside markup.
 */
function assertWellFormed(svg: string): void {
  assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const body = svg.replace(/^<\?xml[^>]*\?>/, '');
  const stack: string[] = [];
  const token = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let roots = 0;
  for (let m = token.exec(body); m; m = token.exec(body)) {
    if (m[6] !== undefined) assert.fail(`malformed markup at ${m.index}: ${body.slice(m.index, m.index + 60)}`);
    if (m[5] !== undefined) {
      assert.doesNotMatch(m[5], /&(?!amp;|lt;|gt;|quot;)/, 'a raw & in text');
      if (stack.length === 0) assert.equal(m[5].trim(), '', 'text outside the root element');
      continue;
    }
    const [, close, name, , selfClose] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the element open`);
    else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
  }
  assert.deepEqual(stack, [], 'every element closed');
  assert.equal(roots, 1, 'one root element');
}

test('a bar chart of sonde against its peers: well-formed, one bar per value, texts escaped', () => {
  const svg = barChart('probe_rate <&> "peers"', 'probes/s', [
    { label: 'http_2xx sonde /probe (c=64)', bars: [{ name: 'sonde', value: 12000 }, { name: 'blackbox_exporter /probe', value: 3300 }] },
    { label: 'tcp <1>', bars: [{ name: 'sonde', value: 20000 }, { name: 'blackbox_exporter /probe', value: 5400 }] },
  ]);
  assertWellFormed(svg);
  assert.equal((svg.match(/<rect [^>]*><title>/g) ?? []).length, 4);
  assert.ok(svg.includes('probe_rate &lt;&amp;&gt; &quot;peers&quot;'));
  assert.ok(svg.includes('<title>sonde: 20,000 probes/s</title>'));
  // Bars share one axis: 20,000 is drawn longer than 12,000.
  const widths = [...svg.matchAll(/<rect x="20" y="\d+" width="([\d.]+)" height="14"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 4);
  assert.ok(widths[2] > widths[0] && widths[0] > widths[1]);
});

test('a CDF: one polyline per label, rising from the smallest sample to 1, cut at p99', () => {
  const sonde = Array.from({ length: 1000 }, (_, i) => 10 + i / 100);
  const fping = [...Array.from({ length: 999 }, (_, i) => 20 + i / 50), 100_000];
  const svg = cdfChart('ICMP RTT', 'µs', { sonde, fping });
  assertWellFormed(svg);
  const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
  assert.equal(lines.length, 2);
  for (const pts of lines) {
    for (let i = 1; i < pts.length; i++) {
      assert.ok(pts[i][0] >= pts[i - 1][0], 'x never goes back');
      assert.ok(pts[i][1] <= pts[i - 1][1], 'y (screen) never goes down as the fraction grows');
    }
  }
  assert.ok(!svg.includes('100,000'), 'the 100,000 µs outlier is past the axis (p99 cut)');
});

test('a line chart and edge cases: empty series, zeros, NaN stay well-formed', () => {
  assertWellFormed(lineChart('RSS over the million-target run', 's', 'MiB', { rss: [[0, 80], [10, 400], [20, 900]], empty: [] }));
  assertWellFormed(lineChart('nothing', 's', 'MiB', {}));
  assertWellFormed(barChart('zeros', 'probes/s', [{ label: 'x', bars: [{ name: 'sonde', value: 0 }, { name: 'peer', value: NaN }] }]));
  assertWellFormed(cdfChart('none', 'µs', { sonde: [] }));
});

test('axis ticks are round and cover the maximum', () => {
  const cases: Array<[number, number[]]> = [
    [1, [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]],
    [0, [0, 1]],
    [23_000, [0, 5000, 10000, 15000, 20000, 25000]],
  ];
  for (const [max, want] of cases) assert.deepEqual(ticks(max), want, `ticks(${max})`);
  assert.equal(esc(`a<b & "c">`), 'a&lt;b &amp; &quot;c&quot;&gt;');
});
