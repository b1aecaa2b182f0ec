import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { IdleReducer, releaseStartupMemory } from '../../src/native/memory';
import { get, metric, startDaemon } from '../lab/daemon';

function rssFileKB(pid: number | 'self' = 'self'): number {
  return Number(/^RssFile:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

test("node's dynamic-linking tables leave the page tables, and the process goes on binding symbols", async () => {
  const before = rssFileKB();
  const r = releaseStartupMemory();
  assert.equal(r.linkTableError, undefined);
  // node's .dynsym, .dynstr, .gnu.hash and .gnu.version are ~7.6 MB; whole pages of them only.
  assert.ok(r.linkTableBytes > 4e6, `released ${r.linkTableBytes} bytes`);
  const after = rssFileKB();
  assert.ok(before - after > 2048, `RssFile ${before} -> ${after} kB`);
  // Modules and addon functions bound after it (lazily, through those tables) still work.
  const zlib = await import('node:zlib');
  assert.equal(zlib.gunzipSync(zlib.gzipSync('sonde')).toString(), 'sonde');
  assert.equal(releaseStartupMemory().linkTableError, undefined);
});

test('the daemon releases them once it has started, and keeps probing', async () => {
  const d = await startDaemon(['--log.level', 'debug']);
  try {
    const rec = d.logs.find((l) => l.msg === 'start-up memory released') ?? (await waitLog(d.logs, 'start-up memory released'));
    assert.ok(Number(rec.link_table_bytes) > 4e6, JSON.stringify(rec));
    for (const module of ['tcp_connect', 'http_2xx']) {
      const target = module === 'tcp_connect' ? `127.0.0.1:${d.port}` : `http://127.0.0.1:${d.port}/-/healthy`;
      const res = await get(d.port, `/probe?module=${module}&target=${encodeURIComponent(target)}`);
      assert.equal(res.status, 200);
      assert.equal(metric(res.text, 'probe_success'), 1, res.text);
    }
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
});

async function waitLog(logs: Array<Record<string, unknown>>, msg: string): Promise<Record<string, unknown>> {
  // Logged right after "sonde is running"; a bound for a loaded machine, not an expected delay.
  for (let i = 0; i < 200; i++) {
    const rec = logs.find((l) => l.msg === msg);
    if (rec) return rec;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no "${msg}" log line in 10 s`);
}

test('an idle reducer gives memory back only when nothing is in flight', () => {
  let busy = true;
  let calls = 0;
  const r = new IdleReducer(() => busy, () => calls++);
  r.tick();
  r.tick();
  assert.equal(calls, 0, 'never while a probe is in flight');
  busy = false;
  r.tick();
  assert.equal(calls, 1);
  assert.equal(r.reductions, 1);
});

test('the native reduction runs a memory-reducing mark-compact in a process that would run none', () => {
  // A quiet child process: it allocates too little for V8 to start a major GC by itself, so one
  // that follows the reduction is the reduction's. Bounded at 10 s for a loaded machine.
  const child = `
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    const { IdleReducer } = require(${JSON.stringify(path.join(__dirname, '../../src/native/memory.js'))});
    const keep = Array.from({ length: 1000 }, (_, i) => 'v' + i);
    let majors = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; }).observe({ entryTypes: ['gc'] });
    const r = new IdleReducer(() => false);
    setTimeout(() => {
      r.tick();
      const t0 = Date.now();
      const wait = setInterval(() => {
        if (majors === 0 && Date.now() - t0 < 10000) return;
        clearInterval(wait);
        console.log(JSON.stringify({ majors, reductions: r.reductions, intact: keep[999] === 'v999' }));
      }, 10);
    }, 100);`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 30_000 })) as { majors: number; reductions: number; intact: boolean };
  assert.equal(out.reductions, 1);
  assert.ok(out.majors >= 1, 'a major GC followed the reduction');
  assert.ok(out.intact);
});
