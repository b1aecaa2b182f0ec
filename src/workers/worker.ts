// A probe worker thread (Piscina's task handler): runs each probe of a batch with the same runner
// the main thread uses (src/schedule/run_probe.ts) and the same prober code, on its own Runtime.
// Its Runtime never takes the fast path: the native engines stay on the main thread's runtime,
// and only probes whose JavaScript CPU cost matters are sent here (ProberDescriptor.offload).
import { workerData } from 'node:worker_threads';
import type { Module } from '../config/types';
import { createLogger } from '../log';
import { Runtime } from '../runtime';
import { runProbe } from '../schedule/run_probe';
import type { BatchResults, ProbeBatch, WorkerSetup } from './batch';
import { moduleFromWire } from './module_wire';

const setup = (workerData ?? {}) as Partial<WorkerSetup>;
const logger = createLogger(setup.logLevel ?? 'info', setup.logFormat ?? 'json');
const runtime = new Runtime({ fastPath: false });

// Modules by id, decoded once: a reload brings new ids, so the map is bounded and cleared when full.
const MAX_MODULES = 4096;
const modules = new Map<number, Module>();

function moduleOf(id: number, wire: unknown): Module {
  let m = modules.get(id);
  if (!m) {
    if (modules.size >= MAX_MODULES) modules.clear();
    m = moduleFromWire(wire);
    modules.set(id, m);
  }
  return m;
}

export async function probeBatch(batch: ProbeBatch): Promise<BatchResults> {
  const mods = batch.modules.map((m) => moduleOf(m.id, m.wire));
  return Promise.all(batch.probes.map((p) => runProbe(p.target, mods[p.module], { timeoutSeconds: p.timeoutSeconds, logger, runtime })));
}
