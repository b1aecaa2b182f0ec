// docs/reasons.md is the documentation of the closed set of failure reasons: it must list exactly
// the reasons in src/result.ts, with the same descriptions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FAILURE_REASONS } from '../../src/result';

test('docs/reasons.md lists every failure reason and no other', () => {
  const doc = readFileSync(path.resolve(__dirname, '..', '..', '..', 'docs', 'reasons.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([a-z0-9_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(Object.fromEntries(rows), FAILURE_REASONS);
});
