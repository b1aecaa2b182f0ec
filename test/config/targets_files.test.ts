// targets_files: Prometheus file_sd (JSON, YAML) and one target per line, merged with targets:,
// checked as one list; every problem names the file and its line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadConfigFile } from '../../src/config/load';
import { MAX_FILE_ISSUES } from '../../src/config/targets_file';

const dir = mkdtempSync(join(tmpdir(), 'sonde-targets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the files, then a config whose one tcp task has `task` keys; returns its path. */
function setup(files: Record<string, string>, task: string): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const cfg = join(dir, 'sonde.yml');
  writeFileSync(cfg, `modules:\n  tcp: {prober: tcp}\ntasks:\n  - name: t\n    module: tcp\n${task}`);
  return cfg;
}

/** The messages of a config that must fail, with the folder made "D". */
function issues(cfg: string): string[] {
  try {
    loadConfigFile(cfg);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n').map((l) => l.split(dir).join('D'));
  }
  assert.fail('the config loaded');
}

test('targets from a list file, a file_sd JSON and a file_sd YAML follow targets:, with the groups\' labels', () => {
  const cfg = setup(
    {
      'hosts.txt': '# web servers\n127.0.0.1:80\n\n   127.0.0.2:80  \r\n',
      'sd.json': JSON.stringify([{ targets: ['127.0.0.3:80', '127.0.0.4:80'], labels: { env: 'prod' } }, { targets: ['127.0.0.5:80'] }]),
      'sd.yml': '- targets: [127.0.0.6:80]\n  labels: {dc: eu}\n',
    },
    '    targets: [127.0.0.1:22]\n    targets_files: [hosts.txt, sd.json, ' + join(dir, 'sd.yml') + ']\n',
  );
  const [t] = loadConfigFile(cfg).tasks;
  assert.deepEqual(t.targets, ['127.0.0.1:22', '127.0.0.1:80', '127.0.0.2:80', '127.0.0.3:80', '127.0.0.4:80', '127.0.0.5:80', '127.0.0.6:80']);
  assert.deepEqual(t.target_labels, [undefined, undefined, undefined, { env: 'prod' }, { env: 'prod' }, undefined, { dc: 'eu' }]);
  assert.equal(t.target_labels![3], t.target_labels![4], 'one shared labels object per group');
  assert.deepEqual(t.targets_files, [join(dir, 'hosts.txt'), join(dir, 'sd.json'), join(dir, 'sd.yml')], 'names made absolute, relative to the config');
});

test('a task with files only has no target_labels when no group has labels', () => {
  const [t] = loadConfigFile(setup({ 'only.txt': '127.0.0.1:1\n127.0.0.1:2' }, '    targets_files: [only.txt]\n')).tasks;
  assert.deepEqual(t.targets, ['127.0.0.1:1', '127.0.0.1:2']);
  assert.equal(t.target_labels, undefined);
});

const CASES: Array<{ what: string; files: Record<string, string>; task: string; expected: string[] }> = [
  {
    what: 'a bad line and a duplicate of an inline target: the file and line',
    files: { 'a.txt': '127.0.0.1:80\n# c\nnot a target\n127.0.0.1:22\n' },
    task: '    targets: [127.0.0.1:22]\n    targets_files: [a.txt]\n',
    expected: [
      'D/a.txt:3:1: tasks[0].targets_files[0]: got "not a target", expected host:port (e.g. "127.0.0.1:22" or "[::1]:22") for a tcp module',
      'D/a.txt:4:1: tasks[0].targets_files[0]: got "127.0.0.1:22", expected a target not listed before (same as targets[0])',
    ],
  },
  {
    what: 'a duplicate across two files names the first one and its line',
    files: { 'a.txt': '127.0.0.1:80\n', 'b.json': '[\n  {"targets": ["127.0.0.1:81",\n    "127.0.0.1:80"]}\n]\n' },
    task: '    targets_files: [a.txt, b.json]\n',
    expected: ['D/b.json:3:5: tasks[0].targets_files[1][0].targets[1]: got "127.0.0.1:80", expected a target not listed before (same as a.txt:1)'],
  },
  {
    what: 'file_sd: bad label names, a non-string value, unknown keys, a missing targets list',
    files: { 'sd.json': '[\n {"targets": ["127.0.0.1:80"], "labels": {"__meta": "x", "task": "y", "n": 1}, "extra": true},\n {"labels": {}}\n]' },
    task: '    targets_files: [sd.json]\n',
    expected: [
      'D/sd.json:2:43: tasks[0].targets_files[0][0].labels.__meta: got "__meta", expected a Prometheus label name matching [a-zA-Z_][a-zA-Z0-9_]* not starting with __',
      'D/sd.json:2:58: tasks[0].targets_files[0][0].labels.task: got "task", expected a label name other than task, target, module, reason, phase, result, kind, verdict, direction, le, port, state, from, to, qos (sonde sets them)',
      'D/sd.json:2:76: tasks[0].targets_files[0][0].labels.n: got 1, expected a string',
      'D/sd.json:2:80: tasks[0].targets_files[0][0].extra: unknown key (expected one of: targets, labels)',
      'D/sd.json:3:2: tasks[0].targets_files[0][1]: missing required key targets',
    ],
  },
  {
    what: 'JSON syntax: the line and column of the error',
    files: { 'bad.json': '[\n  {"targets": ["127.0.0.1:80",]}\n]\n' },
    task: '    targets_files: [bad.json]\n',
    expected: ['D/bad.json:2:31: tasks[0].targets_files[0]: not valid JSON: unexpected "]"'],
  },
  {
    what: 'YAML file_sd: not a list; a target that is not a string',
    files: { 'a.yml': 'targets: [x]\n', 'b.yaml': '- targets:\n  - 127.0.0.1:80\n  - [nested]\n' },
    task: '    targets_files: [a.yml, b.yaml]\n',
    expected: [
      'D/a.yml:1:1: tasks[0].targets_files[0]: got a mapping, expected a list of target groups ({targets: [...], labels: {...}})',
      'D/b.yaml:3:5: tasks[0].targets_files[1][0].targets[1]: got a list, expected a non-empty target string',
    ],
  },
  {
    what: 'a file that cannot be read, and one that lists nothing',
    files: { 'empty.txt': '# nothing yet\n\n' },
    task: '    targets_files: [missing.txt]\n  - {name: u, module: tcp, targets_files: [empty.txt]}\n',
    expected: [
      'D/sonde.yml:6:21: tasks[0].targets_files[0]: got "missing.txt", cannot read the file: ENOENT: no such file or directory',
      'D/sonde.yml:7:43: tasks[1].targets_files: the files list no target (a task needs at least one)',
    ],
  },
  {
    what: 'a task with neither targets nor targets_files',
    files: {},
    task: '    interval: 1m\n',
    expected: ['D/sonde.yml:4:5: tasks[0].targets: missing required key (a task needs targets, targets_files or both)'],
  },
];

for (const c of CASES) {
  test(`refused: ${c.what}`, () => {
    assert.deepEqual(issues(setup(c.files, c.task)), c.expected);
  });
}

test(`a file with many bad lines reports ${MAX_FILE_ISSUES} and how many more`, () => {
  const lines = Array.from({ length: 1000 }, (_, i) => `bad${i}`).join('\n');
  const got = issues(setup({ 'many.txt': lines }, '    targets_files: [many.txt]\n'));
  assert.equal(got.length, MAX_FILE_ISSUES + 1);
  assert.equal(got[0], 'D/many.txt:1:1: tasks[0].targets_files[0]: got "bad0", expected host:port (e.g. "127.0.0.1:22" or "[::1]:22") for a tcp module');
  assert.equal(got[MAX_FILE_ISSUES], `D/many.txt:20:1: tasks[0].targets_files[0]: ${1000 - MAX_FILE_ISSUES} more problems in this file not shown`);
});

test('a million targets load in seconds, from lines, file_sd JSON and file_sd YAML as tools write it', () => {
  const targets = Array.from({ length: 1_000_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`);
  const groups = Array.from({ length: 1000 }, (_, g) => ({ targets: targets.slice(g * 1000, (g + 1) * 1000), labels: { group: `g${g}` } }));
  const yaml = groups.map((g) => `- labels: {group: ${g.labels.group}}\n  targets:\n${g.targets.map((t) => `  - ${t}`).join('\n')}`).join('\n');
  for (const [name, text] of [['million.txt', targets.join('\n')], ['million.json', JSON.stringify(groups)], ['million.yml', yaml]]) {
    const cfg = setup({ [name]: text }, `    targets_files: [${name}]\n`);
    const t0 = process.hrtime.bigint();
    const [t] = loadConfigFile(cfg).tasks;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    assert.equal(t.targets.length, 1_000_000);
    // Seconds, not minutes: 1.4 s (lines), 1.6 s (JSON), 2.6 s (YAML) on the 2-core lab machine, generously bounded.
    assert.ok(seconds < 60, `${name}: ${seconds.toFixed(1)} s`);
    console.log(`# ${name}: 1,000,000 targets loaded in ${seconds.toFixed(2)} s`);
  }
});

test('a bad target deep in a file_sd JSON is found at its line and column (escapes inside strings skipped)', () => {
  const groups = Array.from({ length: 200 }, (_, g) => ({ labels: { g: `${g}` }, targets: Array.from({ length: 50 }, (_, j) => `127.0.${g}.${j}:80`) }));
  groups[150].targets[7] = 'bad "quoted" \\ target';
  const text = JSON.stringify(groups, null, 1);
  const line = text.split('\n').findIndex((l) => l.includes('bad \\"quoted')) + 1;
  const got = issues(setup({ 'deep.json': text }, '    targets_files: [deep.json]\n'));
  assert.deepEqual(got, [`D/deep.json:${line}:4: tasks[0].targets_files[0][150].targets[7]: got "bad \\"quoted\\" \\\\ target", expected host:port (e.g. "127.0.0.1:22" or "[::1]:22") for a tcp module`]);
});
