// `sonde run` with a task of dns targets on the hostile responder (test/probers/dns_responder.ts):
// every kind of bad answer is counted under its own reason, and the daemon keeps running and
// answering /probe.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { get, metric, startDaemon } from '../lab/daemon';
import { until } from '../lab/wait';
import { startResponder } from '../probers/dns_responder';

const BAD = ['wrongid', 'truncated', 'short', 'loop', 'counts', 'garbage', 'badrdlen', 'formerredns', 'silentedns', 'tcnotcp', 'wrongsource', 'nx'];
const WANT: Record<string, string> = { dns_malformed: 'truncated', dns_id_mismatch: 'wrongid', dns_edns_broken: 'formerredns', dns_truncated: 'tcnotcp', dns_timeout: 'wrongsource', dns_rcode: 'nx' };

test('sonde run: hostile dns answers are failures with their reasons, and the daemon lives on', { timeout: 180_000 }, async () => {
  const srv = await startResponder();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-dns-daemon-'));
  const targets = [...BAD, 'ok'].map((n) => JSON.stringify(`${n}.test@127.0.0.1:${srv.port}`)).join(', ');
  writeFileSync(
    path.join(dir, 'sonde.yml'),
    `modules:\n  dns_edns:\n    prober: dns\n    dns: { query_type: A, preferred_ip_protocol: ip4, edns: { nsid: true } }\ntasks:\n  - name: hostile\n    module: dns_edns\n    interval: 2s\n    timeout: 1800ms\n    targets: [${targets}]\n`,
  );
  const d = await startDaemon(['--config', path.join(dir, 'sonde.yml')]);
  try {
    const failures = async (reason: string) => metric((await get(d.port, '/metrics')).text, `sonde_probe_failures_total{task="hostile",reason="${reason}"}`) ?? 0;
    for (const reason of Object.keys(WANT)) await until(`a ${reason} failure (${WANT[reason]})`, async () => ((await failures(reason)) > 0 ? true : undefined), 90_000);
    assert.equal(await failures('internal'), 0, 'no probe ended as a bug');
    assert.ok((metric((await get(d.port, '/metrics')).text, 'sonde_probes_total{task="hostile",result="success"}') ?? 0) > 0, 'ok.test succeeds beside them');
    // The responder's rolling health: one server (every target names it), answered in part, EDNS
    // broken for the formerredns and silentedns names.
    const text = (await get(d.port, '/metrics')).text;
    const server = `server="127.0.0.1:${srv.port}",transport="udp"`;
    const success = metric(text, `sonde_dns_server_success_ratio{${server}}`);
    assert.ok(success !== undefined && success > 0 && success < 1, `success ratio ${success}`);
    const edns = metric(text, `sonde_dns_server_edns_failure_ratio{${server}}`);
    assert.ok(edns !== undefined && edns > 0 && edns < 1, `EDNS failure ratio ${edns}`);
    const score = metric(text, `sonde_dns_server_health_score{${server}}`);
    assert.ok(score !== undefined && score > 0 && score < 100, `score ${score}`);
    assert.ok((metric(text, `sonde_dns_server_latency_seconds{${server},quantile="0.95"}`) ?? 0) > 0);
    const probe = await get(d.port, `/probe?module=dns_edns&target=${encodeURIComponent(`ok.test@127.0.0.1:${srv.port}`)}`);
    assert.match(probe.text, /^probe_success 1$/m);
    assert.equal(d.child.exitCode, null, 'the daemon is still running');
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
    await srv.close();
  }
});
