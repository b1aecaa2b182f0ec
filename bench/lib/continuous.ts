// sonde's continuous mode as a bench measures it: one task whose targets are due faster than it can
// probe (so the rate is sonde's capacity, not the plan's), `concurrency` probes in flight, successes
// per second counted from /metrics after a warm-up: over a fixed time, or until a fixed count.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { get, metric, startDaemon } from '../../test/lab/daemon';

/** `modules` (YAML text) plus one task `bench` of `module` over `n` targets due every `intervalS`. */
export function continuousConfig(modules: string, module: string, intervalS: number, target: (i: number) => string, n: number): string {
  const targets = Array.from({ length: n }, (_, i) => JSON.stringify(target(i))).join(', ');
  return `${modules}tasks:\n  - name: bench\n    module: ${module}\n    interval: ${intervalS * 1000}ms\n    timeout: ${intervalS * 1000}ms\n    max_target_series: 10\n    targets: [${targets}]\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A daemon running `cfg`, given a counter of the task's successes; stopped (and waited for) after. */
async function withDaemon<T>(cfg: string, concurrency: number, fn: (count: () => Promise<number>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-'));
  writeFileSync(path.join(dir, 'sonde.yml'), cfg);
  const d = await startDaemon(['--config', path.join(dir, 'sonde.yml'), '--probes.max-in-flight', String(concurrency), '--log.level', 'info']);
  try {
    const count = async () => metric((await get(d.port, '/metrics')).text, 'sonde_probes_total{task="bench",result="success"}') ?? 0;
    await sleep(1500); // warm-up: JIT, first interval
    return await fn(count);
  } finally {
    d.child.kill('SIGTERM');
    // Wait for it: a daemon left behind would load the next measurement's machine.
    await Promise.race([d.exited, sleep(10_000)]);
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
  }
}

/** Successful probes per second of a daemon running `cfg` for `seconds`. */
export function continuousRate(cfg: string, concurrency: number, seconds: number): Promise<number> {
  return withDaemon(cfg, concurrency, async (count) => {
    const c0 = await count();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const c1 = await count();
    return (c1 - c0) / ((performance.now() - t0) / 1000);
  });
}

/**
 * Successful probes per second until `n` more succeeded (polled from /metrics every 100 ms, so the
 * count may overshoot by what 100 ms holds; the rate uses the count seen). Bounded by `maxSeconds`.
 */
export function continuousCount(cfg: string, concurrency: number, n: number, maxSeconds: number): Promise<{ rate: number; probes: number; seconds: number }> {
  return withDaemon(cfg, concurrency, async (count) => {
    const c0 = await count();
    const t0 = performance.now();
    let c = c0;
    while (c - c0 < n && performance.now() - t0 < maxSeconds * 1000) {
      await sleep(100);
      c = await count();
    }
    const seconds = (performance.now() - t0) / 1000;
    return { rate: (c - c0) / seconds, probes: c - c0, seconds };
  });
}
