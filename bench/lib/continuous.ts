// sonde's continuous mode as a bench measures it: one task whose targets are due faster than it can
// probe (so the rate is sonde's capacity, not the plan's), `concurrency` probes in flight, successes
// per second counted from /metrics after a warm-up.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { get, metric, startDaemon } from '../../test/lab/daemon';

/** `modules` (YAML text) plus one task `bench` of `module` over `n` targets due every `intervalS`. */
export function continuousConfig(modules: string, module: string, intervalS: number, target: (i: number) => string, n: number): string {
  const targets = Array.from({ length: n }, (_, i) => JSON.stringify(target(i))).join(', ');
  return `${modules}tasks:\n  - name: bench\n    module: ${module}\n    interval: ${intervalS * 1000}ms\n    timeout: ${intervalS * 1000}ms\n    max_target_series: 10\n    targets: [${targets}]\n`;
}

/** Successful probes per second of a daemon running `cfg` for `seconds`. */
export async function continuousRate(cfg: string, concurrency: number, seconds: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-'));
  writeFileSync(path.join(dir, 'sonde.yml'), cfg);
  const d = await startDaemon(['--config', path.join(dir, 'sonde.yml'), '--probes.max-in-flight', String(concurrency), '--log.level', 'info']);
  try {
    const count = async () => metric((await get(d.port, '/metrics')).text, 'sonde_probes_total{task="bench",result="success"}') ?? 0;
    await new Promise((r) => setTimeout(r, 1500)); // warm-up: JIT, first interval
    const c0 = await count();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const c1 = await count();
    return (c1 - c0) / ((performance.now() - t0) / 1000);
  } finally {
    d.child.kill('SIGTERM');
    await Promise.race([d.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
  }
}
