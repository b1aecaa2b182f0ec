// What a prober is: one descriptor, registered once in src/probers/index.ts. Every table that
// lists probers (config decoding, target checks, /probe writers, task metrics, JSON) is derived
// from the registry, so adding a prober is one folder plus one line and the lists cannot drift.
import type { Decoder } from '../config/schema';
import type { Module, ModuleSections, ProberName } from '../config/types';
import type { ProbeResult } from '../result';
import type { ProbeRegistry } from '../outputs/blackbox/registry';
import { lazy } from '../util/heavy';
import type { Prober } from './types';

/**
 * A series a prober adds to the per-task metrics of continuous tasks (beyond the common
 * probes/failures/phases every prober gets). The metrics output registers it once, with the task
 * label and the task's own labels in front of `labelNames`, and calls observe() with each result.
 */
export interface TaskMetricSpec {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  /** label names after task (and the task's labels) */
  labelNames: readonly string[];
  /** histogram buckets (seconds); absent: the phase buckets */
  buckets?: readonly number[];
  /** what one result adds: a counter increment or one histogram observation per call */
  observe(result: ProbeResult, add: (value: number, ...labelValues: string[]) => void): void;
}

/**
 * A per-target enum state a prober reports for continuous tasks (tcp_syn: each port's state). The
 * metrics output (src/outputs/task_states.ts) keeps the last state of each (target, key) and
 * renders `name{task,...,target,<keyLabel>,<stateLabel>}` (1 current, 0 the other states) and the
 * `transitions` counter {target,<keyLabel>,from,to}.
 */
export interface TaskStateSpec {
  name: string;
  help: string;
  keyLabel: string;
  stateLabel: string;
  states: readonly string[];
  transitions: { name: string; help: string };
  /** calls set once per (key, state) the result reports */
  observe(result: ProbeResult, set: (key: string, state: string) => void): void;
}

/**
 * How a module's section of one prober (modules.<name>.<prober>) is decoded. Decoders import config
 * primitives only (src/config/schema*.ts, defaults, types), never the registry: config imports the
 * registry, so anything else would be an import cycle at load.
 */
export interface ModuleSection<K extends ProberName = ProberName> {
  decode: Decoder<ModuleSections[K]>;
  /** the section of a module that does not set it (a fresh object: the loader fills it in place) */
  defaults(): ModuleSections[K];
  /** set when a module of this prober must have the section: what it needs, for the message */
  required?: string;
}

/** What of the rest of the config a target check may read (tcp_syn: the scan.allow list). */
export interface TargetCheckScope {
  scanAllow: readonly string[];
}

export interface ProberDescriptor<K extends ProberName = ProberName> {
  name: K;
  /** decoder of the prober's module section */
  config: ModuleSection<K>;
  /** the probe itself: returns a result, never throws for a target's failure */
  probe: Prober;
  /** why a target cannot be probed by this prober (undefined: fine), checked at config load */
  checkTarget(target: string, scope?: TargetCheckScope): string | undefined;
  /** blackbox_exporter's /probe series of this prober (writeCommon adds probe_success etc.) */
  writeBlackbox(result: ProbeResult, module: Module, reg: ProbeRegistry): void;
  /** the prober's own facts in JSON results (`sonde probe --json`, /results, logs) */
  json(result: ProbeResult): Record<string, unknown>;
  /**
   * Whether a probe of `module` to `target` is worth a worker thread (src/workers): its JavaScript
   * CPU cost matters (TLS handshakes and certificate checks, body rules, DoH). Absent or false:
   * the probe runs on the main thread (native engines, plain sockets, the fast path).
   */
  offload?(target: string, module: Module): boolean;
  /** per-task series beyond the common ones */
  taskMetrics: readonly TaskMetricSpec[];
  /** per-target enum states (absent: none) */
  taskStates?: readonly TaskStateSpec[];
}

/**
 * A prober's probe function, loaded at its first probe: a daemon whose tasks and /probe requests
 * never name a prober never loads its code (its sockets, TLS contexts, parsers and their
 * packages), which an idle daemon would otherwise carry (issue 11: idle RSS). `load` requires the
 * prober's probe.ts; its descriptor (config decoder, target check, writers) stays loaded.
 */
export function probeOnFirstUse(load: () => Prober): Prober {
  const probe = lazy(load);
  return (target, module, ctx) => probe()(target, module, ctx);
}
