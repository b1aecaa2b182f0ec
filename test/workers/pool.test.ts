// Probes on worker threads (src/workers): the same results as on the main thread, batched; a
// worker that crashes or hangs is replaced and its probes come back failed with a reason (never
// lost); the daemon starts no worker before a probe needs one and ends them when it stops.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfigString } from '../../src/config/load';
import type { Module } from '../../src/config/types';
import { Daemon } from '../../src/daemon';
import type { ProbeResult } from '../../src/result';
import { ProbeRunner } from '../../src/workers/runner';
import { ProbePool } from '../../src/workers/pool';
import { makePKI, type PKI } from '../lab/pki';
import { testRuntime } from '../runtime';
import { waitFor } from '../lab/wait';

const logger = pino({ level: 'silent' });
const FAULTY = path.join(__dirname, 'faulty_worker.js');
let pki: PKI;
let server: https.Server;
let base: string;
let modules: Map<string, Module>;

before(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-workers-'));
  pki = await makePKI(dir);
  server = https.createServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key }, (_req, res) => res.end('hello from the sonde test server\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const tls = `tls_config: {ca_file: ${JSON.stringify(pki.ca.certPath)}}`;
  const http = (extra: string) => `{prober: http, timeout: 10s, http: {preferred_ip_protocol: ip4, ${extra}}}`;
  modules = loadConfigString(
    `modules:
  https_ok: ${http(tls)}
  https_body_matches: ${http(`${tls}, fail_if_body_matches_regexp: ["from the (sonde|other) test"]`)}
  https_body_not_matches: ${http(`${tls}, fail_if_body_not_matches_regexp: ["^hello"], fail_if_body_matches_regexp: ["nothing like this"]`)}
  https_cel: ${http(`${tls}, fail_if_body_json_not_matches_cel: "body.ok == true"`)}
  https_untrusted: ${http('')}
`,
    'workers-test.yml',
  ).modules;
});

after(() => server.close());

/** What must not depend on the thread a probe ran on (durations and timestamps do). */
function verdict(r: ProbeResult): Record<string, unknown> {
  return {
    target: r.target,
    module: r.module,
    success: r.success,
    reason: r.reason,
    message: r.message,
    status: r.http?.statusCode,
    regex: r.http?.failedDueToRegex,
    cel: r.http?.failedDueToCEL,
    ssl: r.http?.ssl,
    tlsVersion: r.tls?.version,
    leaf: r.tls?.chain[0]?.subject,
    expiry: r.tls?.earliestExpiry,
    phases: Object.keys(r.phases).sort(),
  };
}

const CASES: Array<{ module: string; description: string; success: boolean; reason?: string }> = [
  { module: 'https_ok', description: 'a TLS handshake and certificate check that pass', success: true },
  { module: 'https_body_matches', description: 'a regex body rule that fails the probe (message quotes the Go pattern)', success: false, reason: 'regex_body' },
  { module: 'https_body_not_matches', description: 'regex body rules that pass', success: true },
  { module: 'https_cel', description: 'a CEL rule (rebuilt in the worker) on a body that is not JSON', success: false, reason: 'cel_body' },
  { module: 'https_untrusted', description: 'a chain the module does not trust', success: false, reason: 'cert_untrusted' },
];

for (const workers of [1, 2]) {
  test(`${workers} worker(s): the same results as on the main thread, batched per message`, { timeout: 120_000 }, async () => {
    const inThread = new ProbeRunner({ workers: 0, logger, runtime: testRuntime });
    const pooled = new ProbeRunner({ workers, logger, runtime: testRuntime });
    try {
      assert.equal(pooled.pool?.started, false, 'no thread before the first probe');
      for (const c of CASES) {
        const m = modules.get(c.module)!;
        const here = await inThread.run(base, m, 10);
        assert.equal(here.success, c.success, `${c.description}: in-thread ${JSON.stringify(verdict(here))}`);
        if (c.reason) assert.equal(here.reason, c.reason, c.description);
        // Four at once: they leave in the same turn, so they travel in batches, not one message each.
        const batchesBefore = pooled.pool!.counts.batches;
        const there = await Promise.all([0, 1, 2, 3].map(() => pooled.run(base, m, 10)));
        const sent = pooled.pool!.counts.batches - batchesBefore;
        assert.ok(sent >= 1 && sent <= workers, `${c.description}: 4 probes in ${sent} messages, expected 1 to ${workers}`);
        for (const r of there) assert.deepEqual(verdict(r), verdict(here), c.description);
      }
      assert.equal(pooled.pool!.running, workers);
      assert.equal(pooled.pool!.counts.lostBatches, 0);
    } finally {
      await pooled.close();
    }
    assert.equal(pooled.pool!.running, 0, 'close ends the threads');
  });
}

test('a probe the prober does not offload (plain http, tcp) stays on the main thread', async () => {
  const runner = new ProbeRunner({ workers: 1, logger, runtime: testRuntime });
  const cfg = loadConfigString('modules:\n  plain: {prober: http, timeout: 2s}\n  tcp: {prober: tcp, timeout: 2s}\n', 't.yml').modules;
  try {
    await runner.run('http://127.0.0.1:1/', cfg.get('plain')!, 2);
    await runner.run('127.0.0.1:1', cfg.get('tcp')!, 2);
    assert.equal(runner.pool!.started, false);
  } finally {
    await runner.close();
  }
});

test('with eBPF attribution on, the default keeps offloadable probes on the main thread (their losses get a verdict); an explicit count moves them', async () => {
  const m = modules.get('https_ok')!;
  const registry = { addSocketFlow: () => 0, remove: () => undefined };
  const kept = new ProbeRunner({ workers: 1, attributeOnMain: true, logger, runtime: testRuntime, flows: () => registry });
  const moved = new ProbeRunner({ workers: 1, attributeOnMain: false, logger, runtime: testRuntime, flows: () => registry });
  const noEbpf = new ProbeRunner({ workers: 1, attributeOnMain: true, logger, runtime: testRuntime, flows: () => undefined });
  try {
    assert.equal((await kept.run(base, m, 10)).success, true);
    assert.equal(kept.pool!.started, false, 'attribution on: no thread started');
    assert.equal((await moved.run(base, m, 10)).success, true);
    assert.equal(moved.pool!.started, true, '--workers given: the probe went to a worker');
    assert.equal((await noEbpf.run(base, m, 10)).success, true);
    assert.equal(noEbpf.pool!.started, true, 'attribution off: the default offloads');
  } finally {
    await Promise.all([kept.close(), moved.close(), noEbpf.close()]);
  }
});

test('a crashing worker is replaced; its probes come back failed with the reason, none lost', { timeout: 120_000 }, async () => {
  const pool = new ProbePool({ threads: 1, workerFile: FAULTY, setup: { logLevel: 'silent', logFormat: 'json' } });
  const m = modules.get('https_ok')!;
  try {
    const crashed = await Promise.all([pool.run(`${base}crash`, m, 10), pool.run(base, m, 10), pool.run(base, m, 10)]);
    assert.equal(crashed.length, 3);
    for (const r of crashed) {
      assert.equal(r.success, false);
      assert.equal(r.reason, 'internal');
      assert.match(r.message!, /probe worker failed .*the worker was replaced/);
    }
    assert.equal(pool.counts.lostBatches, 1);
    const later = await pool.run(base, m, 10);
    assert.equal(later.success, true, `the replacement worker probes: ${later.message}`);
  } finally {
    await pool.close();
  }
});

test('a hung worker is terminated after the deadline and replaced; its probes time out with the reason', { timeout: 120_000 }, async () => {
  const pool = new ProbePool({ threads: 1, workerFile: FAULTY, setup: { logLevel: 'silent', logFormat: 'json' } });
  const m = modules.get('https_ok')!;
  try {
    const hung = await Promise.all([pool.run(`${base}hang`, m, 1), pool.run(base, m, 1)]);
    for (const r of hung) {
      assert.equal(r.reason, 'timeout');
      assert.match(r.message!, /did not answer within 1s .*the worker was replaced/);
    }
    const later = await pool.run(base, m, 10);
    assert.equal(later.success, true, `the replacement worker probes: ${later.message}`);
  } finally {
    await pool.close();
  }
  assert.equal((await pool.run(base, m, 1)).reason, 'cancelled', 'a closed pool answers at once');
});

test('a module that cannot travel to a worker still gets its probes answered, failed with the reason', async () => {
  const pool = new ProbePool({ threads: 1, setup: { logLevel: 'silent', logFormat: 'json' } });
  const bad = { ...modules.get('https_ok')!, hook: () => 1 } as unknown as Module;
  try {
    const r = await pool.run(base, bad, 5);
    assert.equal(r.reason, 'internal');
    assert.match(r.message!, /cannot be sent to a worker thread: module field modules\.https_ok\.hook is a function/);
  } finally {
    await pool.close();
  }
});

test('a cancelled probe is answered at once, its worker still busy', { timeout: 120_000 }, async () => {
  const pool = new ProbePool({ threads: 1, workerFile: FAULTY, setup: { logLevel: 'silent', logFormat: 'json' } });
  const ac = new AbortController();
  try {
    const pending = pool.run(`${base}hang`, modules.get('https_ok')!, 60, ac.signal);
    assert.ok(await waitFor(() => pool.running === 1, 60_000), 'the worker started');
    ac.abort();
    const r = await pending;
    assert.equal(r.reason, 'cancelled');
    assert.match(r.message!, /cancelled/);
    assert.equal((await pool.run(base, modules.get('https_ok')!, 10, ac.signal)).reason, 'cancelled', 'an aborted signal: not sent at all');
  } finally {
    await pool.close();
  }
});

test('the daemon starts no worker until a probe needs one (/probe or a task), and its stop ends them', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-workers-daemon-'));
  const file = path.join(dir, 'sonde.yml');
  const cfg = `modules:
  tcp: {prober: tcp, timeout: 1s}
  https_ok: {prober: http, timeout: 5s, http: {preferred_ip_protocol: ip4, tls_config: {ca_file: ${JSON.stringify(pki.ca.certPath)}}}}
tasks:
  - {name: plain, module: tcp, targets: ["127.0.0.1:1"], interval: 200ms, timeout: 150ms}
`;
  writeFileSync(file, cfg);
  const daemon = new Daemon({ configFile: file, listen: { host: '127.0.0.1', port: 0 }, logger, ebpf: false, workers: 1, stopGraceMs: 1000 });
  await daemon.start();
  const get = async (p: string) => (await fetch(`http://127.0.0.1:${daemon.listening!.port}${p}`)).text();
  try {
    // A few rounds of a task that offloads nothing: still no thread.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(daemon.probeWorkers, 0);
    const answer = await get(`/probe?module=https_ok&target=${encodeURIComponent(base)}`);
    assert.match(answer, /\nprobe_success 1\n/);
    assert.match(answer, /\nprobe_ssl_earliest_cert_expiry /, 'the TLS facts came back from the worker');
    assert.equal(daemon.probeWorkers, 1, 'the https /probe ran on a worker');
    writeFileSync(file, `${cfg}  - {name: tls, module: https_ok, targets: [${JSON.stringify(base)}], interval: 2s, timeout: 2s}\n`);
    assert.equal((await daemon.reload()).ok, true);
    assert.ok(await waitFor(async () => /sonde_probes_total\{task="tls",result="success"\} [1-9]/.test(await get('/metrics')), 60_000), 'the https task probes through the worker');
  } finally {
    await daemon.stop();
  }
  assert.equal(daemon.probeWorkers, 0, 'stop ended the worker threads');
});
