// Targets files re-read on change: only the tasks reading a changed file are rebuilt and handed to
// changeTasks; a bad edit keeps the running targets, is logged with file and line, and sets
// sonde_targets_file_reload_success{file} to 0 until the file is good again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { loadConfigFile } from '../../src/config/load';
import { TargetsWatcher } from '../../src/config/targets_watch';
import type { Config, Task } from '../../src/config/types';

const dir = mkdtempSync(join(tmpdir(), 'sonde-watch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let tick = 1_700_000_000;
/** Writes a file with an mtime of its own (a second apart), so a change never hides in one mtime tick. */
function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  tick += 1;
  utimesSync(f, tick, tick);
  return f;
}

function setup() {
  write('web.txt', '127.0.0.1:80\n127.0.0.1:81\n');
  write('db.json', JSON.stringify([{ targets: ['127.0.0.1:5432'], labels: { role: 'db' } }]));
  const cfg = write(
    'sonde.yml',
    'modules: {tcp: {prober: tcp}}\ntasks:\n' +
      '  - {name: web, module: tcp, targets: [127.0.0.1:22], targets_files: [web.txt]}\n' +
      '  - {name: db, module: tcp, targets_files: [db.json]}\n' +
      '  - {name: plain, module: tcp, targets: [127.0.0.1:1]}\n',
  );
  let config: Config = loadConfigFile(cfg);
  const changes: Array<{ upsert: Task[]; remove: string[] }> = [];
  const errors: string[][] = [];
  const logger = { info: () => undefined, error: (o: { issues: string[] }) => errors.push(o.issues.map((i) => i.split(dir).join('D'))) } as unknown as Logger;
  const registry = new Registry();
  const w = new TargetsWatcher({
    logger,
    registry,
    config: () => config,
    change: (upsert, remove) => {
      changes.push({ upsert, remove });
      // as Daemon.changeTasks: the rebuilt tasks replace theirs
      // (copies of the tasks, as a scheduler's plan may hold: their own targets: are still found)
      config = { ...config, tasks: config.tasks.map((t) => ({ ...(upsert.find((u) => u.name === t.name) ?? t) })) };
      w.setTasks(config.tasks);
    },
  });
  w.setTasks(config.tasks);
  const gauge = async (file: string) => {
    const text = await registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith(`sonde_targets_file_reload_success{file="${join(dir, file)}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };
  return { w, changes, errors, gauge, config: () => config };
}

test('a changed file rebuilds only the tasks reading it, keeping their own targets:', async () => {
  const { w, changes, gauge } = setup();
  w.check();
  assert.equal(changes.length, 0, 'nothing changed yet');
  write('web.txt', '127.0.0.1:81\n127.0.0.1:82\n');
  w.check();
  assert.equal(changes.length, 1);
  assert.deepEqual(changes[0].upsert.map((t) => [t.name, t.targets]), [['web', ['127.0.0.1:22', '127.0.0.1:81', '127.0.0.1:82']]]);
  assert.deepEqual(changes[0].remove, []);
  // A second change still starts from the task's own list.
  write('web.txt', '127.0.0.1:83\n');
  w.check();
  assert.deepEqual(changes[1].upsert.map((t) => t.targets), [['127.0.0.1:22', '127.0.0.1:83']]);
  assert.equal(await gauge('web.txt'), 1);
  assert.equal(await gauge('db.json'), 1);
});

test('file_sd labels follow the change; a rewrite with the same bytes or only a comment changes nothing', () => {
  const { w, changes } = setup();
  write('db.json', JSON.stringify([{ targets: ['127.0.0.1:5432', '127.0.0.1:5433'], labels: { role: 'replica' } }]));
  w.check();
  assert.deepEqual(changes[0].upsert.map((t) => [t.name, t.targets, t.target_labels]), [['db', ['127.0.0.1:5432', '127.0.0.1:5433'], [{ role: 'replica' }, { role: 'replica' }]]]);
  write('db.json', JSON.stringify([{ targets: ['127.0.0.1:5432', '127.0.0.1:5433'], labels: { role: 'replica' } }]));
  write('web.txt', '# the web servers\n127.0.0.1:80\n127.0.0.1:81\n');
  w.check();
  assert.equal(changes.length, 1);
});

test('a bad edit keeps the running targets, logs file and line, and the gauge shows it until fixed', async () => {
  const { w, changes, errors, gauge, config } = setup();
  write('web.txt', '127.0.0.1:80\nnot a target\n127.0.0.1:22\n');
  w.check();
  assert.equal(changes.length, 0);
  assert.deepEqual(errors, [[
    'D/web.txt:2:1: tasks[web].targets_files[0]: got "not a target", expected host:port (e.g. "127.0.0.1:22" or "[::1]:22") for a tcp module',
    'D/web.txt:3:1: tasks[web].targets_files[0]: got "127.0.0.1:22", expected a target not listed before (same as targets[0])',
  ]]);
  assert.equal(await gauge('web.txt'), 0);
  assert.deepEqual(config().tasks[0].targets, ['127.0.0.1:22', '127.0.0.1:80', '127.0.0.1:81']);
  w.check();
  assert.equal(errors.length, 1, 'logged once, not at every round');
  rmSync(join(dir, 'web.txt'));
  w.check();
  assert.match(errors[1][0], /^D\/web\.txt:1:1: tasks\[web\]\.targets_files\[0\]: cannot read the file: ENOENT/);
  write('web.txt', '127.0.0.1:90\n');
  w.check();
  assert.deepEqual(changes.map((c) => c.upsert.map((t) => t.targets)), [[['127.0.0.1:22', '127.0.0.1:90']]]);
  assert.equal(await gauge('web.txt'), 1);
});

test('files no task reads any more are forgotten, their gauge gone', async () => {
  const { w, gauge, config } = setup();
  w.setTasks(config().tasks.filter((t) => t.name !== 'db'));
  assert.equal(await gauge('db.json'), undefined);
  assert.equal(await gauge('web.txt'), 1);
});
