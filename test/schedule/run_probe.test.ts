// runProbe keeps every probe to its deadline whatever the prober does, and makes the probe's
// AbortController only when the prober reads ctx.signal (the fast path never does).
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { Module } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { PROBERS } from '../../src/probers';
import type { ProberDescriptor } from '../../src/probers/descriptor';
import type { ProbeContext, Prober } from '../../src/probers/types';
import type { ProbeResult } from '../../src/result';
import { runProbe } from '../../src/schedule/run_probe';
import { testRuntime } from '../runtime';

// A prober name no real prober uses: each test installs its own prober under it.
const FAKE = 'fake_for_run_probe';
const MODULE = { name: 'm', prober: FAKE, timeout: 1 } as unknown as Module;

function ok(target: string): ProbeResult {
  return { target, module: 'm', prober: FAKE, success: true, startedAt: Date.now(), durationSeconds: 0, phases: {} };
}

// The registry is a literal map; these tests add an entry under a name it does not run.
const registry = PROBERS as Record<string, ProberDescriptor | undefined>;

function install(p: Prober): void {
  registry[FAKE] = { ...PROBERS.http, probe: p } as unknown as ProberDescriptor;
}

afterEach(() => {
  delete registry[FAKE];
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a prober that never reads its signal sees ctx.aborted flip at the deadline', async () => {
  const seen: boolean[] = [];
  install(async (target, _m, ctx) => {
    seen.push(ctx.aborted ?? ctx.signal.aborted);
    await sleep(80);
    seen.push(ctx.aborted ?? ctx.signal.aborted);
    return ok(target);
  });
  const r = await runProbe('t', MODULE, { timeoutSeconds: 0.03, logger: silentLogger, runtime: testRuntime });
  assert.equal(r.success, true);
  assert.deepEqual(seen, [false, true]);
});

test('a signal read after the deadline is already aborted; one read before it aborts at the deadline', async () => {
  let early: AbortSignal | undefined;
  let late: AbortSignal | undefined;
  install(async (target, _m, ctx) => {
    early = ctx.signal;
    const abortedAt = new Promise<void>((r) => early?.addEventListener('abort', () => r()));
    await abortedAt;
    late = ctx.signal;
    return ok(target);
  });
  const r = await runProbe('t', MODULE, { timeoutSeconds: 0.03, logger: silentLogger, runtime: testRuntime });
  assert.equal(r.success, true);
  assert.equal(early, late, 'one controller per probe');
  assert.equal(late?.aborted, true);
});

test('a prober that ignores its deadline yields a timeout result after the grace period', async () => {
  let ctxSeen: ProbeContext | undefined;
  install((_t, _m, ctx) => {
    ctxSeen = ctx;
    return new Promise<ProbeResult>(() => undefined);
  });
  const t0 = Date.now();
  const r = await runProbe('t', MODULE, { timeoutSeconds: 0.05, logger: silentLogger, runtime: testRuntime });
  const took = Date.now() - t0;
  assert.equal(r.success, false);
  assert.equal(r.reason, 'timeout');
  assert.match(r.message ?? '', /overran its 0.05s deadline/);
  // The prober never settles: returning at all is the guard working (no upper bound a loaded machine could break).
  assert.ok(took >= 290, `deadline + 250 ms grace, took ${took} ms`);
  assert.equal(ctxSeen?.signal.aborted, true);
});

test('the outer signal (daemon stopping) aborts a probe that reads its signal, before or after the abort', async () => {
  const outer = new AbortController();
  const reasons: string[] = [];
  install(async (target, _m, ctx) => {
    const s = ctx.signal;
    await new Promise<void>((r) => s.addEventListener('abort', () => r()));
    reasons.push((s.reason as Error).message);
    return ok(target);
  });
  const p = runProbe('t', MODULE, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime, signal: outer.signal });
  await sleep(10);
  outer.abort();
  await p;
  install(async (target, _m, ctx) => {
    reasons.push(ctx.aborted ? 'aborted before the read' : 'not aborted');
    reasons.push((ctx.signal.reason as Error).message);
    return ok(target);
  });
  await runProbe('t', MODULE, { timeoutSeconds: 5, logger: silentLogger, runtime: testRuntime, signal: outer.signal });
  assert.deepEqual(reasons, ['probe cancelled', 'aborted before the read', 'probe cancelled']);
});

test('a prober that throws, even synchronously, yields an internal result', async () => {
  install(() => {
    throw new Error('boom');
  });
  const r = await runProbe('t', MODULE, { timeoutSeconds: 1, logger: silentLogger, runtime: testRuntime });
  assert.deepEqual([r.success, r.reason, r.message], [false, 'internal', 'prober threw: boom']);
});
