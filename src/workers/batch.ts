// What travels between the main thread and a probe worker: one message per batch of probes that
// came due together (so one postMessage carries many probes), one array of results back.
import type { ProbeResult } from '../result';
import type { LogFormat, LogLevel } from '../log';

export interface BatchProbe {
  target: string;
  /** index into ProbeBatch.modules */
  module: number;
  timeoutSeconds: number;
}

export interface ProbeBatch {
  /** the modules the batch's probes use: an id (stable while the Module object lives) and its wire form */
  modules: Array<{ id: number; wire: unknown }>;
  probes: BatchProbe[];
}

/** One result per probe of the batch, in the batch's order (ProbeResult is plain data: it clones). */
export type BatchResults = ProbeResult[];

/** The worker's start-up data (Piscina workerData). */
export interface WorkerSetup {
  logLevel: LogLevel;
  logFormat: LogFormat;
}
