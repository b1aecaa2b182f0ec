// config → plan: one block per task, its targets as rows. A row is an index into the task's own
// `targets` array; what a stage keeps per target (due times, health, breaker, last result) lives in
// typed arrays of the same length, so a million targets cost a few numbers each and no object,
// string key or closure. Each row has a stable phase inside its interval (a hash of task name and
// target), so the targets of a task are spread evenly rather than fired in one burst, and a restart
// or reload puts every target back on the same grid point (no herd).
import { isDeepStrictEqual } from 'node:util';
import type { Config, Module, Task } from '../config/types';
import { fnv32a } from '../util/fnv';

/** One task as planned. Stages hold their per-row arrays beside it; a changed task gets a new block. */
export interface TaskBlock {
  readonly task: Task;
  readonly module: Module;
  /** rows: task.targets itself, not a copy */
  readonly targets: readonly string[];
  /** 0..1 per row: where in each interval the row runs */
  readonly phase: Float64Array;
}

/**
 * One run of one row, made when the run starts (never kept per target): the stages after the
 * scheduler find their arrays by `block` (the identity of the task as planned) and `row`.
 */
export interface Job {
  task: Task;
  module: Module;
  target: string;
  block: TaskBlock;
  row: number;
  /** 0..1: the row's phase */
  phase: number;
}

function mix(h: number): number {
  // FNV leaves a change in the last characters in the low bits (keys ...:9001 to ...:9040 fell in
  // two clusters of 5% of the interval each): murmur3's finalizer spreads it over the high bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x100000000;
}

/**
 * FNV-1a of name + NUL + target, folded to [0,1): the same value fnv32a gives for the joined key,
 * computed without making the key string or a Buffer for ASCII text (a million targets per plan).
 */
export function phaseOf(name: string, target: string): number {
  let h = 0x811c9dc5;
  for (const s of [name, '\u0000', target]) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return mix(fnv32a(`${name}\u0000${target}`)); // UTF-8 bytes: the slow, exact way
      h = Math.imul(h ^ c, 0x01000193);
    }
  }
  return mix(h >>> 0);
}

/** Plans one task; `phases` replaces the hashed phases (tests that want exact grid points). */
export function planTask(task: Task, module: Module, phases?: ArrayLike<number>): TaskBlock {
  const n = task.targets.length;
  const phase = new Float64Array(n);
  for (let i = 0; i < n; i++) phase[i] = phases ? phases[i] : phaseOf(task.name, task.targets[i]);
  return { task, module, targets: task.targets, phase };
}

export function moduleOf(modules: Config['modules'], task: Task): Module {
  const module = modules.get(task.module);
  if (!module) throw new Error(`task ${task.name}: module ${task.module} is not in the config`); // the loader checked it
  return module;
}

export function planTasks(config: Config): TaskBlock[] {
  return config.tasks.map((t) => planTask(t, moduleOf(config.modules, t)));
}

export function jobOf(block: TaskBlock, row: number): Job {
  return { task: block.task, module: block.module, target: block.targets[row], block, row, phase: block.phase[row] };
}

/** Every row of every task as a Job: for tests and tools, not for the daemon (an object per target). */
export function planJobs(config: Config): Job[] {
  const jobs: Job[] = [];
  for (const b of planTasks(config)) for (let r = 0; r < b.targets.length; r++) jobs.push(jobOf(b, r));
  return jobs;
}

/**
 * For each row of `next`, the row of the same target in `prev`, or -1: how a changed task carries
 * the state of the targets it kept. O(targets of the task), done only for a task that changed.
 */
export function rowMap(prev: TaskBlock, next: TaskBlock): Int32Array {
  const out = new Int32Array(next.targets.length).fill(-1);
  if (prev.targets === next.targets) {
    for (let i = 0; i < out.length; i++) out[i] = i;
    return out;
  }
  const at = new Map<string, number>();
  for (let i = 0; i < prev.targets.length; i++) at.set(prev.targets[i], i);
  for (let i = 0; i < out.length; i++) out[i] = at.get(next.targets[i]) ?? -1;
  return out;
}

/** Whether a task (and the module it runs) is the same as planned: then a reload leaves it alone. */
export function sameTask(block: TaskBlock, task: Task, module: Module | undefined): boolean {
  return block.task === task || (isDeepStrictEqual(block.task, task) && isDeepStrictEqual(block.module, module));
}

/** What a new config changes against the tasks planned now: tasks to (re)plan and names to drop. */
export function diffTasks(current: ReadonlyMap<string, TaskBlock>, config: Config): { upsert: Task[]; remove: string[] } {
  const names = new Set<string>();
  const upsert: Task[] = [];
  for (const task of config.tasks) {
    names.add(task.name);
    const b = current.get(task.name);
    if (b === undefined || !sameTask(b, task, config.modules.get(task.module))) upsert.push(task);
  }
  const remove = [...current.keys()].filter((n) => !names.has(n));
  return { upsert, remove };
}

/**
 * The row of `job` in the block planned now, -1: its target is not there. A run started before its
 * task changed still counts when its target kept its row (a change of thresholds or labels).
 */
export function rowNow(planned: TaskBlock, job: Job): number {
  return planned === job.block || planned.targets[job.row] === job.target ? job.row : -1;
}

/** The blocks of a list of jobs, in order, each once (tests and tools that hold jobs). */
export function blocksOf(jobs: readonly Job[]): TaskBlock[] {
  return [...new Set(jobs.map((j) => j.block))];
}
