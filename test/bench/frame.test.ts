import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BenchUsageError, parseBenchArgs } from '../../bench/lib/args';
import { normalize, quantiles, record, Results } from '../../bench/lib/figures';
import { parseFpingSummary } from '../../bench/lib/fping';
import { BenchProgress } from '../../bench/lib/progress';
import { renderReport, type BenchRun } from '../../bench/lib/report_md';
import { report } from '../../bench/lib/stats';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadScenarios, scenarioFromModule } from '../../bench/scenarios';

const KNOWN = ['probe_rate', 'icmp_rate', 'sched_scale', 'soak'];

test('flags: --quick, --only (repeatable), positional names, in definition order; soak only when named', () => {
  const cases: Array<[string[], Partial<ReturnType<typeof parseBenchArgs>>]> = [
    [[], { quick: false, selected: ['probe_rate', 'icmp_rate', 'sched_scale'], report: true }],
    [['--quick'], { quick: true, selected: ['probe_rate', 'icmp_rate', 'sched_scale'] }],
    [['--only', 'icmp_rate'], { selected: ['icmp_rate'] }],
    [['--only=soak', '--quick'], { selected: ['soak'], quick: true }],
    [['icmp_rate', 'probe_rate'], { selected: ['probe_rate', 'icmp_rate'] }],
    [['--only', 'sched_scale', 'probe_rate', '--out', '/tmp/x', '--no-report'], { selected: ['probe_rate', 'sched_scale'], outDir: '/tmp/x', report: false }],
  ];
  for (const [argv, want] of cases) {
    const got = parseBenchArgs(argv, KNOWN, ['soak']);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof typeof got], v, `${argv.join(' ')}: ${k}`);
  }
});

test('flags: unknown flags and scenarios are refused, naming them', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--fast'], /^unknown flag --fast\nusage: npm run bench/],
    [['--quick=1'], /^flag --quick takes no value/],
    [['--only'], /^flag --only needs a value/],
    [['nope'], /^unknown scenario nope; known: probe_rate, icmp_rate, sched_scale, soak$/],
    [['--only', 'ICMP_RATE'], /^unknown scenario ICMP_RATE/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseBenchArgs(argv, KNOWN, ['soak']), (e: Error) => e instanceof BenchUsageError && message.test(e.message), argv.join(' '));
  }
});

test('a figure: median, spread, ratio, advantage and the target, for rates and for costs', () => {
  const rate = record({ name: 'burst', unit: 'probes/s', runs: [300, 100, 200], peer: { name: 'fping', runs: [100, 120, 80] }, target: { of: 'advantage', atLeast: 1.5 } });
  assert.deepEqual(rate, {
    name: 'burst', unit: 'probes/s', better: 'higher', median: 200, runs: [300, 100, 200], spread: [100, 300],
    peer: { name: 'fping', median: 100, runs: [100, 120, 80] }, ratio: 2, advantage: 2, target: { of: 'advantage', atLeast: 1.5, met: true },
  });
  const cost = record({ name: 'wall', unit: 's', runs: [0.8], peer: { name: 'fping', runs: [0.6] }, target: { of: 'advantage', atLeast: 1.5 } });
  assert.equal(cost.better, 'lower');
  assert.equal(cost.target?.met, false, 'slower than the peer: the 1.5x target is not met');
  assert.equal(record({ name: 'rss', unit: 'MiB', runs: [900], target: { of: 'median', atMost: 1024 } }).target?.met, true);
  assert.equal(record({ name: 'x', unit: 'probes/s', runs: [1], peer: { name: 'p', runs: [] }, target: { of: 'advantage', atLeast: 1.5 } }).target?.met, null, 'no peer: not judged');
  assert.equal(
    report({ name: 'burst', unit: 'probes/s', runs: [300, 100, 200], peer: { name: 'fping', runs: [100] }, target: { of: 'advantage', atLeast: 1.5 } }),
    'burst: median 200 probes/s (100..300 over 3 runs); fping 100 probes/s (100..100); ratio 2.00x; target >= 1.50x the peer: met',
  );
});

test('Results keeps the printed lines and the records together; string[] scenarios still work', () => {
  const r = new Results().line('lab: x').fig({ name: 'a', unit: 'probes/s', runs: [1, 2, 3] }).cdf('rtt', 'µs', { sonde: [3, 1, 2], empty: [] });
  assert.deepEqual(r.lines, ['lab: x', 'a: median 2.00 probes/s (1.00..3.00 over 3 runs)']);
  assert.equal(r.figures[0].median, 2);
  assert.deepEqual(r.series, [{ kind: 'cdf', name: 'rtt', unit: 'µs', samples: { sonde: [1, 2, 3] } }]);
  assert.deepEqual(normalize(['one', 'two']), { lines: ['one', 'two'], figures: [], series: [] });
  assert.equal(quantiles(Array.from({ length: 10_000 }, (_, i) => 9999 - i)).length, 200);
  assert.deepEqual(quantiles([5, 1, 3], 200), [1, 3, 5]);
});

test('a scenario module: its `scenario`, its default, or its one function; else a message naming the file', async () => {
  const ctx = { quick: true, runs: 1, progress: () => undefined };
  assert.deepEqual(await scenarioFromModule('a', { scenario: async () => ['x'] })(ctx), ['x']);
  assert.deepEqual(await scenarioFromModule('b', { schedScale: async (o: { runs: number }) => [`runs ${o.runs}`], LIMIT: 3 })(ctx), ['runs 1']);
  assert.throws(() => scenarioFromModule('c', { one: () => 1, two: () => 2 }), /bench\/c\.ts exports no scenario: .*found one, two/);
});

test('the Markdown report: host facts, a table row per figure, the lines, and a plot per chart of more than one bar', () => {
  const r = new Results()
    .fig({ name: 'burst | 1M', unit: 'probes/s', runs: [200], peer: { name: 'fping', runs: [100] }, target: { of: 'advantage', atLeast: 1.5 } })
    .fig({ name: 'RSS', unit: 'MiB', runs: [900] })
    .fig({ name: 'ceiling alone', unit: 'requests/s', runs: [5000] }) // one bar: a table row, no chart
    .cdf('RTT', 'µs', { sonde: [1, 2, 3] })
    .curve('RSS over time', 's', 'MiB', { sonde: [[0, 1], [1, 2]] });
  const run: BenchRun = {
    started: '2026-12-02T05:00:00.000Z', seconds: 12, quick: true, argv: ['--quick'],
    host: { cpu: 'AMD EPYC', cores: 2, physicalCores: 1, memoryBytes: 2 * 2 ** 30, os: 'Debian GNU/Linux 12', kernel: '6.18', node: 'v20.20.2' },
    scenarios: [{ name: 'icmp_rate', seconds: 10, ...r }, { name: 'broken', seconds: 1, lines: ['broken: FAILED: x'], figures: [], series: [], error: 'x' }],
  };
  const { markdown, svgs } = renderReport(run, 'plots');
  const has = (s: string) => assert.ok(markdown.includes(s), `report has ${JSON.stringify(s)}:\n${markdown}`);
  has('# sonde bench 2026-12-02T05:00:00.000Z (--quick');
  has('| CPU | AMD EPYC |');
  has('| memory | 2.00 GiB |');
  has('| burst \\| 1M | 200 probes/s | 200..200 | 1 | fping: 100 | 2.00x | >= 1.50x the peer: met |');
  has('| RSS | 900 MiB | 900..900 | 1 | - | - | - |');
  has('## broken\n\n1.00 s; **failed**: x');
  has('```\nburst | 1M: median 200 probes/s');
  assert.deepEqual(svgs.map((s) => s.file), ['plots/icmp-rate-icmp-rate-probes-s-0.svg', 'plots/icmp-rate-rtt-1.svg', 'plots/icmp-rate-rss-over-time-2.svg']);
  for (const s of svgs) has(`](${s.file})`);
});

test('fping -q -c summaries, fping\'s and sonde ping\'s, parse the same', () => {
  const text = [
    '198.18.128.1 : xmt/rcv/%loss = 250/250/0%, min/avg/max = 0.005/0.010/0.120',
    '198.18.128.2 : xmt/rcv/%loss = 250/248/0%, 2 duplicates, min/avg/max = 0.005/0.010/0.120',
    '198.18.128.3 : xmt/rcv/%loss = 250/0/100%',
    'some other line',
  ].join('\n');
  assert.deepEqual(parseFpingSummary(text), { sent: 750, received: 498, duplicates: 2, rttsMs: [] });
});

test('progress goes to its own stream only, a line per step when that is not a terminal', () => {
  const written: string[] = [];
  const stream = { isTTY: false, columns: 80, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const p = new BenchProgress(2, stream);
  p.begin(0, 'icmp_rate');
  p.tick('run 1/3', 0.5);
  p.tick('run 1/3', 0.6); // same label: no new line
  p.begin(1, 'syn_rate');
  p.stop();
  assert.equal(written.length, 3);
  assert.match(written[1], /^bench: \[######\.{18}\] 1\/2 icmp_rate: run 1\/3 {2}0:00\n$/);
  assert.match(written[2], /^bench: \[#{12}\.{12}\] 2\/2 syn_rate {2}0:00\n$/);
});

test('scenario files of other work join when they exist, in their place, with the context mapped onto their options', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-test-'));
  assert.deepEqual(loadScenarios(dir).map((s) => s.name), ['probe_rate', 'probe_count', 'dns_rate', 'icmp_rate', 'ebpf_overhead', 'syn_rate', 'soak']);
  writeFileSync(path.join(dir, 'workers.js'), 'exports.workersBench = async (o) => [`workers ${o.runs} ${o.seconds} ${o.workers.join(",")}`];\n');
  writeFileSync(path.join(dir, 'sched_scale.js'), 'exports.scenario = async (ctx) => ({ lines: ["sched " + ctx.quick], figures: [], series: [] });\n');
  const all = loadScenarios(dir);
  assert.deepEqual(all.map((s) => s.name), ['probe_rate', 'probe_count', 'dns_rate', 'icmp_rate', 'ebpf_overhead', 'syn_rate', 'sched_scale', 'workers', 'soak']);
  const ctx = { quick: true, runs: 2, progress: () => undefined };
  assert.deepEqual(await all.find((s) => s.name === 'workers')!.run(ctx), ['workers 2 1 0,1,2']);
  assert.deepEqual(await all.find((s) => s.name === 'sched_scale')!.run(ctx), { lines: ['sched true'], figures: [], series: [] });
  writeFileSync(path.join(dir, 'idle_rss.js'), 'exports.a = () => 1; exports.b = () => 2;\n');
  assert.throws(() => loadScenarios(dir), /bench\/idle_rss\.ts exports no scenario/);
});

test('progress on a terminal: one line redrawn in place and erased before stdout output and at the end', () => {
  const written: string[] = [];
  const stream = { isTTY: true, columns: 40, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const p = new BenchProgress(1, stream);
  p.begin(0, 'a_scenario_with_a_long_name');
  p.tick('a label long enough to pass the terminal width', 0.5);
  p.clear();
  p.stop();
  assert.ok(written.every((w) => !w.includes('\n')), 'no line feed: the bar stays on one line');
  const draws = written.filter((w) => w.startsWith('\r\x1b[K') && w.length > 4);
  assert.equal(draws.length, 2);
  for (const d of draws) assert.ok(d.length - 4 <= 39, `cut to the terminal width: ${JSON.stringify(d)}`);
  assert.equal(written[written.length - 1], '\r\x1b[K', 'erased at the end');
});
