// --web.enable-diagnostics: a CPU profile, a heap snapshot and runtime stats over HTTP, absent by
// default, and behind the web config's basic auth when there is one.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { get, startDaemon } from '../lab/daemon';

test('diagnostics are off by default', { timeout: 120_000 }, async () => {
  const d = await startDaemon(['--no-ebpf']);
  try {
    for (const p of ['/debug/pprof/', '/debug/pprof/profile?seconds=1', '/debug/pprof/heap', '/debug/pprof/runtime']) assert.equal((await get(d.port, p)).status, 404, p);
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
});

test('CPU profile, heap snapshot and runtime stats, behind basic auth', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-diag-'));
  const web = path.join(dir, 'web.yml');
  writeFileSync(web, `basic_auth_users:\n  ops: ${JSON.stringify(bcrypt.hashSync('pw', 4))}\n`);
  const d = await startDaemon(['--no-ebpf', '--web.enable-diagnostics', '--web.config.file', web]);
  const auth = { headers: { Authorization: `Basic ${Buffer.from('ops:pw').toString('base64')}` } };
  try {
    assert.equal((await get(d.port, '/debug/pprof/heap')).status, 401, 'no credentials, no heap');
    assert.equal((await get(d.port, '/debug/pprof/profile?seconds=1')).status, 401);

    const profile = await get(d.port, '/debug/pprof/profile?seconds=1', auth);
    assert.equal(profile.status, 200);
    const p = JSON.parse(profile.text) as { nodes: Array<{ callFrame: { functionName: string } }>; startTime: number; endTime: number; samples: number[] };
    assert.ok(p.nodes.length > 0 && p.samples.length > 0, 'a V8 CPU profile with samples');
    assert.ok(p.endTime - p.startTime >= 900_000, 'about a second long (microseconds)');
    assert.equal((await get(d.port, '/debug/pprof/profile?seconds=forever', auth)).status, 400);

    const heap = await get(d.port, '/debug/pprof/heap', auth);
    assert.equal(heap.status, 200);
    const snap = JSON.parse(heap.text) as { snapshot: { meta: { node_fields: string[] }; node_count: number } };
    assert.ok(snap.snapshot.meta.node_fields.includes('name') && snap.snapshot.node_count > 1000, 'a V8 heap snapshot');

    const stats = await get(d.port, '/debug/pprof/runtime', auth);
    assert.equal(stats.status, 200);
    const s = JSON.parse(stats.text) as { memory: { rss: number }; heap: { used_heap_size: number }; event_loop_delay_ms: { max: number } };
    assert.ok(s.memory.rss > 0 && s.heap.used_heap_size > 0);
    assert.equal(typeof s.event_loop_delay_ms.max, 'number');
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
});
