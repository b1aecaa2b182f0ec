// config → plan: one job per (task, target), each with a stable phase offset inside its interval so
// that many targets of one task are spread evenly rather than fired in one burst every interval.
import type { Config, Module, Task } from '../config/types';
import { fnv32a } from '../util/fnv';

export interface Job {
  /** stable identity across reloads: task name + target */
  key: string;
  task: Task;
  module: Module;
  target: string;
  /** 0..1: where in each interval this job runs */
  phase: number;
}

function hashUnit(s: string): number {
  // FNV-1a folded to [0,1): stable across restarts, so reloads don't reshuffle probe times.
  let h = fnv32a(s);
  // FNV leaves a change in the last characters in the low bits (keys ...:9001 to ...:9040 fell in
  // two clusters of 5% of the interval each): murmur3's finalizer spreads it over the high bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x100000000;
}

export function planJobs(config: Config): Job[] {
  const jobs: Job[] = [];
  for (const task of config.tasks) {
    const module = config.modules.get(task.module);
    if (!module) throw new Error(`task ${task.name}: module ${task.module} is not in the config`); // the loader checked it
    for (const target of task.targets) {
      const key = `${task.name}\u0000${target}`;
      jobs.push({ key, task, module, target, phase: hashUnit(key) });
    }
  }
  return jobs;
}
