import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { releaseStartupMemory } from '../../src/native/memory';
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
