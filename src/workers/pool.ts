// The pool of probe worker threads (Piscina). Probes handed to run() in the same turn of the event
// loop go out together, as few task messages as there are threads, so the cost of postMessage and
// structured clone is paid per batch, not per probe; each batch comes back as one array.
//
// No probe is ever lost: a worker that crashes or stops answering (a probe blocked its thread past
// the batch's deadline) is terminated and replaced by Piscina, and every probe of its batch comes
// back as a failed result saying why. The pool starts its threads on the first probe it is given,
// so a daemon that never offloads a probe never pays for them.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type Piscina from 'piscina';
import type { Module } from '../config/types';
import type { CancelSignal } from '../probers/types';
import type { FailureReason, ProbeResult } from '../result';
import { lazy } from '../util/heavy';
import type { BatchResults, ProbeBatch, WorkerSetup } from './batch';
import { moduleToWire } from './module_wire';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded with the first pool, not with the daemon
const piscina = lazy(() => require('piscina') as typeof import('piscina'));

export const WORKER_FILE = path.join(__dirname, 'worker.js');

/** Batches per worker at once: probes wait on the network, so a worker overlaps many batches. */
const BATCHES_PER_WORKER = 64;
/** The most probes in one message: a bigger batch only delays its first results. */
export const MAX_BATCH = 256;
/** After the batch's longest timeout, how long its worker may take to answer before it counts as hung. */
const HUNG_GRACE_MS = 2000;

export interface ProbePoolOptions {
  threads: number;
  setup: WorkerSetup;
  /** the worker entry (tests give one that crashes or hangs on purpose) */
  workerFile?: string;
}

interface Pending {
  target: string;
  module: Module;
  timeoutSeconds: number;
  startedAt: number;
  t0: number;
  signal: CancelSignal | undefined;
  /** settles the caller's promise once (a cancelled probe's late result is dropped) */
  resolve: (r: ProbeResult) => void;
}

/** Counts of what the pool did, for metrics and tests. */
export interface PoolCounts {
  batches: number;
  probes: number;
  /** batches whose worker crashed or hung: their probes came back failed */
  lostBatches: number;
}

export class ProbePool {
  private pool: Piscina | undefined;
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;
  private readonly ids = new WeakMap<Module, number>();
  /** probes handed to run() whose result has not been given yet */
  private readonly outstanding = new Set<Pending>();
  /** signals listened to: one listener per signal (the scheduler's is one for every task probe) */
  private readonly watched = new WeakSet<CancelSignal>();
  private nextId = 1;
  readonly counts: PoolCounts = { batches: 0, probes: 0, lostBatches: 0 };

  constructor(private readonly opts: ProbePoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RangeError(`options.threads must be a positive integer, got ${opts.threads}`);
  }

  get threads(): number {
    return this.opts.threads;
  }

  /** Whether the worker threads exist (made on the first probe). */
  get started(): boolean {
    return this.pool !== undefined;
  }

  /** Worker threads running now (0 before the first probe and after close). */
  get running(): number {
    return this.pool?.threads.length ?? 0;
  }

  /**
   * Runs one probe on a worker; resolves with its result, or a failed result when its worker was
   * lost. When `signal` aborts, the probe is answered `cancelled` at once (the worker's result, when
   * it comes, is dropped), as a probe on the main thread is.
   */
  run(target: string, module: Module, timeoutSeconds: number, signal?: CancelSignal): Promise<ProbeResult> {
    return new Promise((settle) => {
      const p: Pending = {
        target,
        module,
        timeoutSeconds,
        startedAt: Date.now(),
        t0: performance.now(),
        signal,
        resolve: (r) => {
          if (this.outstanding.delete(p)) settle(r);
        },
      };
      this.outstanding.add(p);
      if (this.closed) return p.resolve(failure(p, 'cancelled', 'the probe pool is closed (the daemon is stopping)'));
      if (signal?.aborted) return p.resolve(failure(p, 'cancelled', 'the probe was cancelled before it started'));
      if (signal && !this.watched.has(signal)) {
        this.watched.add(signal);
        signal.addEventListener('abort', () => this.cancel(signal), { once: true });
      }
      this.queue.push(p);
      if (!this.flushing) {
        this.flushing = true;
        // After the current turn: every probe the scheduler dispatches in it joins the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushing = false;
    // Probes cancelled while they waited for this turn are answered already: they are not sent.
    const all = this.queue.filter((p) => this.outstanding.has(p));
    this.queue = [];
    if (this.closed) {
      for (const p of all) p.resolve(failure(p, 'cancelled', 'the probe pool is closed (the daemon is stopping)'));
      return;
    }
    const pool = (this.pool ??= this.start());
    // One batch per thread when few are due, so every thread gets work; never more than MAX_BATCH.
    const size = Math.min(MAX_BATCH, Math.ceil(all.length / this.opts.threads));
    for (let i = 0; i < all.length; i += size) void this.send(pool, all.slice(i, i + size));
  }

  private start(): Piscina {
    const { Piscina } = piscina();
    const n = this.opts.threads;
    return new Piscina({
      filename: this.opts.workerFile ?? WORKER_FILE,
      name: 'probeBatch',
      minThreads: n,
      maxThreads: n,
      concurrentTasksPerWorker: BATCHES_PER_WORKER,
      // Batches are async (they wait on sockets): a worker blocked in Atomics.wait would stall them.
      atomics: 'disabled',
      idleTimeout: Infinity,
      // Queued batches are bounded by the scheduler's in-flight limit; Piscina's default is unbounded too.
      workerData: this.opts.setup,
    });
  }

  private batchOf(probes: Pending[]): ProbeBatch {
    const batch: ProbeBatch = { modules: [], probes: [] };
    const index = new Map<Module, number>();
    for (const p of probes) {
      let i = index.get(p.module);
      if (i === undefined) {
        i = batch.modules.length;
        index.set(p.module, i);
        batch.modules.push({ id: this.idOf(p.module), wire: moduleToWire(p.module) });
      }
      batch.probes.push({ target: p.target, module: i, timeoutSeconds: p.timeoutSeconds });
    }
    return batch;
  }

  private async send(pool: Piscina, probes: Pending[]): Promise<void> {
    let batch: ProbeBatch;
    try {
      batch = this.batchOf(probes);
    } catch (err) {
      // A module field that cannot travel (ModuleWireError: a bug): the probes still get an answer.
      for (const p of probes) p.resolve(failure(p, 'internal', `the probe cannot be sent to a worker thread: ${(err as Error).message}`));
      return;
    }
    this.counts.batches++;
    this.counts.probes += probes.length;
    // A worker that has not answered well after the batch's longest deadline is hung: aborting the
    // task makes Piscina terminate that thread and start another.
    const ac = new AbortController();
    const longest = Math.max(...probes.map((p) => p.timeoutSeconds));
    const timer = setTimeout(() => ac.abort(), longest * 1000 + HUNG_GRACE_MS);
    let results: BatchResults;
    try {
      results = (await pool.run(batch, { signal: ac.signal })) as BatchResults;
    } catch (err) {
      this.counts.lostBatches++;
      const hung = ac.signal.aborted;
      const why = hung
        ? `its probe worker did not answer within ${longest}s + ${HUNG_GRACE_MS / 1000}s (a probe blocked the thread); the worker was replaced`
        : this.closed
          ? 'the probe pool closed before the probe finished (the daemon is stopping)'
          : `its probe worker failed (${(err as Error)?.message ?? String(err)}); the worker was replaced`;
      const reason: FailureReason = hung ? 'timeout' : this.closed ? 'cancelled' : 'internal';
      for (const p of probes) p.resolve(failure(p, reason, why));
      return;
    } finally {
      clearTimeout(timer);
    }
    for (let i = 0; i < probes.length; i++) probes[i].resolve(results[i] ?? failure(probes[i], 'internal', 'the probe worker returned no result for the probe'));
  }

  private cancel(signal: CancelSignal): void {
    for (const p of this.outstanding) {
      if (p.signal === signal) p.resolve(failure(p, 'cancelled', 'the probe was cancelled (the daemon is stopping, or its /probe client left)'));
    }
  }

  private idOf(module: Module): number {
    let id = this.ids.get(module);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(module, id);
    }
    return id;
  }

  /** Ends the worker threads; probes still queued or running come back as cancelled. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.destroy();
  }
}

function failure(p: Pending, reason: FailureReason, message: string): ProbeResult {
  return {
    target: p.target,
    module: p.module.name,
    prober: p.module.prober,
    success: false,
    reason,
    message,
    startedAt: p.startedAt,
    timeoutSeconds: p.timeoutSeconds,
    durationSeconds: (performance.now() - p.t0) / 1000,
    phases: {},
  };
}
