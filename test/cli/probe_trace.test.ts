// `sonde probe HOST --module <a trace module> --json` prints the trace's hops and path hash, the
// same facts as /results (both are resultToJSON). Raw sockets: root only (run under the lab lock).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { SONDE_BIN } from '../lab/daemon';
import { privilegedTest } from '../lab/privileged';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-probe-trace-'));
after(() => rmSync(dir, { recursive: true, force: true }));

privilegedTest('sonde probe 127.0.0.1 --module trace_icmp --json: trace.hops and trace.path_hash', () => {
  const config = path.join(dir, 'sonde.yml');
  writeFileSync(config, 'modules:\n  trace_icmp:\n    prober: trace\n    trace:\n      protocol: icmp\n      max_ttl: 4\n      rounds: 2\n      interval: 20ms\n');
  const r = spawnSync(process.execPath, [SONDE_BIN, 'probe', '127.0.0.1', '--module', 'trace_icmp', '--config', config, '--json', '--timeout', '5'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}${r.stdout}`);
  const o = JSON.parse(r.stdout) as { prober: string; success: boolean; trace?: { reached: boolean; path_hash: unknown; hops: Array<{ ttl: number; addresses: string[]; sent: number; received: number }> } };
  assert.equal(o.prober, 'trace');
  assert.equal(o.success, true);
  assert.ok(o.trace, `no trace facts in ${r.stdout}`);
  assert.equal(o.trace.reached, true);
  assert.equal(typeof o.trace.path_hash, 'number');
  // Loopback answers at the first TTL: one hop, the target itself, every probe answered.
  assert.deepEqual(o.trace.hops.map((h) => [h.ttl, h.addresses, h.sent, h.received]), [[1, ['127.0.0.1'], 2, 2]]);
});
