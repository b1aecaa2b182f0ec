// A daemon probing hostile servers with body rules stays responsive: each /probe ends within its
// timeout, /-/healthy answers promptly all the while, and the daemon's memory comes back.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { get, metric, startDaemon } from '../lab/daemon';
import { hostileServer } from '../lab/hostile_server';
import { sleep } from '../lab/wait';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const CONFIG = `modules:
  body_rule:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      fail_if_body_matches_regexp: ["never in this body"]
  body_rule_gzip:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      compression: gzip
      fail_if_body_not_matches_regexp: ["x"]
`;

test('hostile bodies: /probe ends on time, /-/healthy answers meanwhile, memory returns', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-hostile-'));
  const cfgFile = path.join(dir, 'sonde.yml');
  writeFileSync(cfgFile, CONFIG);
  const server = await hostileServer();
  const d = await startDaemon(['--config', cfgFile]);
  try {
    const pid = d.child.pid ?? 0;
    const rssBefore = rssMiB(pid);
    for (const [module, p] of [['body_rule', '/endless'], ['body_rule', '/4g'], ['body_rule_gzip', '/gzip-bomb']]) {
      const t0 = performance.now();
      let done = false;
      const probe = get(d.port, `/probe?module=${module}&target=${encodeURIComponent(`http://127.0.0.1:${server.port}${p}`)}`).finally(() => {
        done = true;
      });
      let slowest = 0;
      let answered = 0;
      while (!done) {
        const h0 = performance.now();
        assert.equal((await get(d.port, '/-/healthy')).status, 200);
        slowest = Math.max(slowest, performance.now() - h0);
        answered++;
        await sleep(100);
      }
      const r = await probe;
      const seconds = (performance.now() - t0) / 1000;
      assert.equal(metric(r.text, 'probe_success'), 0, `${p}: ${r.text}`);
      // Bounds for a loaded 2-core machine, far from what unbounded reads took (10.6 s for 5 s, 5 s stalls).
      assert.ok(seconds < 3 + 1, `${p}: the 3 s probe answered after ${seconds.toFixed(3)} s`);
      assert.ok(answered >= 3 && slowest < 1000, `${p}: /-/healthy answered ${answered} times, the slowest in ${slowest.toFixed(0)} ms`);
    }
    const grown = rssMiB(pid) - rssBefore;
    assert.ok(grown < 256, `the daemon's RSS grew ${grown.toFixed(0)} MiB`);
  } finally {
    d.child.kill('SIGKILL');
    server.close();
  }
});
