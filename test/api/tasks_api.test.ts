// /api/v1/tasks on a running daemon, as an operator uses it: create, change and delete tasks with
// PUT and DELETE (JSON or YAML), bad bodies answered with the config file's messages, file tasks
// read-only (409), the web config's basic auth in front, and API tasks kept across a restart by
// --tasks.state-file. A daemon test: run it under the lab lock (brief).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { get, metric, startDaemon, type RunningDaemon } from '../lab/daemon';
import { until } from '../lab/wait';

async function tcpServer(): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

const CONFIG = `modules:
  tcp: {prober: tcp, timeout: 2s, tcp: {preferred_ip_protocol: ip4}}
tenants: [{name: team_a}]
tasks:
  - {name: from_file, module: tcp, targets: ["127.0.0.1:9"], interval: 1s}
`;

const put = (d: RunningDaemon, name: string, body: string, type = 'application/json', headers: Record<string, string> = {}) =>
  get(d.port, `/api/v1/tasks/${name}`, { method: 'PUT', body, headers: { 'Content-Type': type, ...headers } });

async function stop(d: RunningDaemon): Promise<void> {
  if (d.child.exitCode !== null) return;
  d.child.kill('SIGTERM');
  await d.exited;
}

test('PUT creates and changes a task, GET shows its lifecycle, DELETE removes it and its series', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-tasks-api-'));
  const cfg = path.join(dir, 'sonde.yml');
  writeFileSync(cfg, CONFIG);
  const target = await tcpServer();
  const d = await startDaemon(['--config', cfg, '--no-ebpf']);
  try {
    const created = await put(d, 'api_one', JSON.stringify({ module: 'tcp', targets: [`127.0.0.1:${target.port}`], interval: '500ms', tenant: 'team_a', labels: { team: 'a' } }));
    assert.equal(created.status, 201, created.text);
    const view = JSON.parse(created.text) as Record<string, unknown>;
    assert.deepEqual([view.name, view.origin, view.module, view.targets, view.tenant, view.labels, view.interval], ['api_one', 'api', 'tcp', 1, 'team_a', { team: 'a' }, 0.5]);

    const running = await until('api_one to be Running', async () => {
      const t = JSON.parse((await get(d.port, '/api/v1/tasks/api_one')).text) as Record<string, unknown>;
      return t.state === 'running' ? t : undefined;
    });
    assert.match(String(running.reason), /^127\.0\.0\.1:\d+ met the success threshold \(1 in a row\); 1 of 1 targets up$/);
    const list = JSON.parse((await get(d.port, '/api/v1/tasks')).text) as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((t) => [t.name, t.origin]), [['from_file', 'file'], ['api_one', 'api']]);
    const m = (await get(d.port, '/metrics')).text;
    assert.equal(metric(m, 'sonde_task_state{task="api_one",team="a",state="running"}'), 1);

    // YAML replaces the task (200): a changed task starts again from Pending.
    const changed = await put(d, 'api_one', `module: tcp\ntargets: ["127.0.0.1:${target.port}"]\ninterval: 2s\n`, 'application/yaml');
    assert.equal(changed.status, 200, changed.text);
    assert.equal((JSON.parse(changed.text) as { interval: number }).interval, 2);

    assert.deepEqual(await get(d.port, '/api/v1/tasks/api_one', { method: 'DELETE' }), { status: 200, text: '{\n  "deleted": "api_one"\n}\n' });
    assert.deepEqual(await get(d.port, '/api/v1/tasks/api_one'), { status: 404, text: 'no task "api_one"\n' });
    assert.equal(metric((await get(d.port, '/metrics')).text, 'sonde_task_state{task="api_one",team="a",state="running"}'), undefined, 'its series are gone');
  } finally {
    await stop(d);
    target.close();
  }
});

const FILE_TASK_REFUSAL = (cfg: string) => `task "from_file" is defined in the config file ${cfg}: the file is the source of truth for its tasks; change it there and reload\n`;

test('bad bodies get the config file\'s messages at tasks[NAME]; file tasks are read-only', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-tasks-api-'));
  const cfg = path.join(dir, 'sonde.yml');
  writeFileSync(cfg, CONFIG);
  const d = await startDaemon(['--config', cfg, '--no-ebpf']);
  try {
    const cases: Array<[string, string, string, number, string]> = [
      ['a bad duration', 'x', '{"module": "tcp", "targets": ["127.0.0.1:1"],\n "interval": "5x"}', 400, 'body:2:14: tasks[x].interval: got "5x", expected a duration like "5s", "1m30s" or "250ms"\n'],
      ['an unknown module', 'x', '{"module": "htp", "targets": ["127.0.0.1:1"]}', 400, 'body:1:12: tasks[x].module: got "htp", expected one of the modules: tcp\n'],
      ['an unknown tenant', 'x', '{"module": "tcp", "targets": ["127.0.0.1:1"], "tenant": "b"}', 400, 'body:1:57: tasks[x].tenant: got "b", expected one of the tenants: team_a\n'],
      ['a bad target', 'x', 'module: tcp\ntargets: [nope]\n', 400, 'body:2:11: tasks[x].targets[0]: got "nope", expected host:port (e.g. "127.0.0.1:22" or "[::1]:22") for a tcp module\n'],
      ['an unknown key', 'x', 'module: tcp\ntargets: [127.0.0.1:1]\nretries: 3\n', 400, 'body:3:1: tasks[x].retries: unknown key (expected one of: name, module, targets, targets_files, interval, timeout, jitter, success_threshold, failure_threshold, labels, max_target_series, tenant, qos, paused, max_concurrency, breaker)\n'],
      ['another name in the body', 'x', '{"name": "y", "module": "tcp", "targets": ["127.0.0.1:1"]}', 400, 'body:1:10: tasks[x].name: got "y", expected the name in the path (x) or no name\n'],
      ['a bad name in the path', 'a%20b', '{"module": "tcp", "targets": ["127.0.0.1:1"]}', 400, 'body:1:1: tasks[a b].name: got "a b", expected a task name matching [a-zA-Z_][a-zA-Z0-9_:-]*\n'],
      ['not a mapping', 'x', '[1]', 400, 'body:1:1: tasks[x]: got a list, expected a mapping (a task: module, targets, interval, ...)\n'],
      ['not YAML', 'x', '{"module": ', 400, 'body:1:12: (yaml): Flow map must end with a }\n'],
      ['targets files', 'x', '{"module": "tcp",\n "targets_files": ["/etc/shadow"]}', 400, 'body:2:2: tasks[x].targets_files: not accepted through the API (a request may not make sonde read files of this host): list the targets in targets, or put the task in the config file\n'],
      ['a file task', 'from_file', '{"module": "tcp", "targets": ["127.0.0.1:1"]}', 409, FILE_TASK_REFUSAL(cfg)],
    ];
    for (const [what, name, body, status, text] of cases) {
      assert.deepEqual(await put(d, name, body, name === 'x' && body.startsWith('module') ? 'application/yaml' : 'application/json'), { status, text }, what);
    }
    assert.deepEqual(await put(d, 'x', '<task/>', 'application/xml'), { status: 415, text: 'got Content-Type "application/xml", expected application/json or application/yaml\n' });
    assert.deepEqual(await get(d.port, '/api/v1/tasks/from_file', { method: 'DELETE' }), { status: 409, text: FILE_TASK_REFUSAL(cfg) });
    assert.deepEqual(await get(d.port, '/api/v1/tasks/nothing', { method: 'DELETE' }), { status: 404, text: 'no task "nothing"\n' });
    assert.deepEqual(await get(d.port, '/api/v1/tasks/x', { method: 'POST', body: '{}' }), { status: 405, text: 'This endpoint accepts GET, PUT and DELETE.\n' });
    assert.deepEqual(await get(d.port, '/api/v1/tasks', { method: 'PUT', body: '{}' }), { status: 405, text: 'This endpoint accepts GET; PUT and DELETE go to /api/v1/tasks/NAME.\n' });
    assert.deepEqual((JSON.parse((await get(d.port, '/api/v1/tasks')).text) as Array<{ name: string }>).map((t) => t.name), ['from_file'], 'nothing was created');
  } finally {
    await stop(d);
  }
});

test('the web config\'s basic auth stands in front of the tasks API', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-tasks-api-'));
  const cfg = path.join(dir, 'sonde.yml');
  const web = path.join(dir, 'web.yml');
  writeFileSync(cfg, CONFIG);
  writeFileSync(web, `basic_auth_users:\n  admin: ${bcrypt.hashSync('s3cret', 4)}\n`);
  const d = await startDaemon(['--config', cfg, '--no-ebpf', '--web.config.file', web]);
  try {
    const body = '{"module": "tcp", "targets": ["127.0.0.1:1"]}';
    assert.deepEqual(await put(d, 'guarded', body), { status: 401, text: 'Unauthorized\n' });
    assert.equal((await get(d.port, '/api/v1/tasks')).status, 401);
    const auth = { Authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` };
    assert.equal((await put(d, 'guarded', body, 'application/json', auth)).status, 201);
    assert.equal((await get(d.port, '/api/v1/tasks/guarded', { headers: auth })).status, 200);
  } finally {
    await stop(d);
  }
});

test('API tasks survive a restart through --tasks.state-file, written atomically', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-tasks-api-'));
  const cfg = path.join(dir, 'sonde.yml');
  const state = path.join(dir, 'tasks.json');
  writeFileSync(cfg, CONFIG);
  let d = await startDaemon(['--config', cfg, '--no-ebpf', '--tasks.state-file', state]);
  try {
    assert.equal((await put(d, 'kept', 'module: tcp\ntargets: [127.0.0.1:1]\ninterval: 1m\n', 'application/yaml')).status, 201);
    assert.equal((await put(d, 'dropped', '{"module": "tcp", "targets": ["127.0.0.1:2"]}')).status, 201);
    assert.equal((await get(d.port, '/api/v1/tasks/dropped', { method: 'DELETE' })).status, 200);
    assert.deepEqual(JSON.parse(readFileSync(state, 'utf8')), { version: 1, tasks: { kept: { module: 'tcp', targets: ['127.0.0.1:1'], interval: '1m', name: 'kept' } } });
    await stop(d);

    d = await startDaemon(['--config', cfg, '--no-ebpf', '--tasks.state-file', state]);
    const t = JSON.parse((await get(d.port, '/api/v1/tasks/kept')).text) as Record<string, unknown>;
    assert.deepEqual([t.name, t.origin, t.interval, t.target_list], ['kept', 'api', 60, ['127.0.0.1:1']]);
    // A reload merges them again with the file's tasks.
    assert.equal((await get(d.port, '/-/reload', { method: 'POST' })).status, 200);
    const names = (JSON.parse((await get(d.port, '/api/v1/tasks')).text) as Array<{ name: string }>).map((x) => x.name);
    assert.deepEqual(names, ['from_file', 'kept']);
  } finally {
    await stop(d);
  }
});

test('an edited targets file reaches the running daemon; a bad edit is refused and shown by the gauge', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-tasks-api-'));
  const cfg = path.join(dir, 'sonde.yml');
  const list = path.join(dir, 'hosts.txt');
  writeFileSync(list, '127.0.0.1:1\n');
  writeFileSync(cfg, `${CONFIG}  - {name: listed, module: tcp, targets_files: [hosts.txt], interval: 1m}\n`);
  const d = await startDaemon(['--config', cfg, '--no-ebpf', '--targets.reload-interval', '0.2']);
  const targets = async () => (JSON.parse((await get(d.port, '/api/v1/tasks/listed')).text) as { targets: number }).targets;
  const gauge = async () => metric((await get(d.port, '/metrics')).text, `sonde_targets_file_reload_success{file="${list}"}`);
  try {
    assert.equal(await targets(), 1);
    writeFileSync(list, '127.0.0.1:1\n127.0.0.1:2\n127.0.0.1:3\n');
    await until('three targets', async () => ((await targets()) === 3 ? true : undefined));
    writeFileSync(list, '127.0.0.1:1\nbad\n');
    await until('the gauge at 0', async () => ((await gauge()) === 0 ? true : undefined));
    assert.equal(await targets(), 3, 'the running targets stay');
    assert.ok(d.logs.some((l) => Array.isArray(l.issues) && String(l.issues[0]).startsWith(`${list}:2:1: tasks[listed].targets_files[0]: got "bad"`)), 'logged with file and line');
  } finally {
    await stop(d);
  }
});
