// The tasks state file (--tasks.state-file): written whole or not at all, read back, refused with
// the reason when it is not one.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readTaskState, StateFileError, writeTaskState } from '../../src/tasks/state_file';

const dir = mkdtempSync(join(tmpdir(), 'sonde-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('written and read back; no temporary file left beside it', () => {
  const file = join(dir, 'tasks.json');
  assert.deepEqual(readTaskState(file), new Map(), 'none yet');
  writeTaskState(file, new Map([['a', { module: 'tcp', targets: ['127.0.0.1:1'] }]]));
  writeTaskState(file, new Map([['b', { module: 'tcp', targets: ['127.0.0.1:2'] }]]));
  assert.deepEqual(readTaskState(file), new Map([['b', { module: 'tcp', targets: ['127.0.0.1:2'] }]]));
  assert.deepEqual(readdirSync(dir), ['tasks.json']);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).version, 1);
});

test('a write that cannot happen leaves the old file', () => {
  assert.throws(() => writeTaskState(join(dir, 'no-such-dir', 'tasks.json'), new Map()), /ENOENT/);
});

for (const [what, text, reason] of [
  ['not JSON', '{', /^.*bad\.json: not JSON: /],
  ['another shape', '{"tasks": []}', /bad\.json: expected \{"version": 1, "tasks": \{\.\.\.\}\}$/],
] as const) {
  test(`refused: ${what}`, () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, text);
    assert.throws(() => readTaskState(file), (e: unknown) => e instanceof StateFileError && reason.test(e.message));
  });
}
