// The task lifecycle (src/health/lifecycle.ts) on /metrics: `sonde_task_state{task,...,state}` is 1
// for the task's current state and 0 for the others (every state present, as kube-state-metrics
// shows phases, so a task leaving Running shows as 0 rather than as a vanished series), and
// `sonde_task_state_change_timestamp_seconds{task,...}` is when it entered it.
import type { Registry } from 'prom-client';
import type { Task } from '../config/types';
import { TASK_STATES, type TaskLifecycle } from '../health/lifecycle';
import { GaugeView, taskScope, type Labels } from './families';

/** Each task's label objects, kept across scrapes (their text is cached) until its labels change. */
interface TaskLabels {
  task: Task;
  scope: Labels;
  states: Labels[];
}

export function registerLifecycleMetrics(reg: Registry, lifecycle: TaskLifecycle): void {
  let cache = new Map<string, TaskLabels>();
  const labelsOf = (task: Task): TaskLabels => {
    const known = cache.get(task.name);
    if (known && (known.task === task || JSON.stringify(known.task.labels) === JSON.stringify(task.labels))) {
      known.task = task; // the same labels after a reload: compared once, not at every scrape
      return known;
    }
    const scope = taskScope(task.name, task.labels).labels;
    const made = { task, scope, states: TASK_STATES.map((state) => Object.freeze({ ...scope, state })) };
    cache.set(task.name, made);
    return made;
  };
  new GaugeView(reg, 'sonde_task_state', 'Lifecycle state of the task: 1 for the current one of pending, running, failed, paused (README "Tasks API")', (emit) => {
    const next = new Map<string, TaskLabels>();
    for (const { task, status } of lifecycle.entries()) {
      const l = labelsOf(task);
      next.set(task.name, l);
      TASK_STATES.forEach((s, i) => emit(l.states[i], s === status.state ? 1 : 0));
    }
    // Tasks gone from the plan lose their cached labels at the next scrape.
    cache = next;
  });
  new GaugeView(reg, 'sonde_task_state_change_timestamp_seconds', 'When the task entered its current lifecycle state', (emit) => {
    for (const { task, status } of lifecycle.entries()) emit(labelsOf(task).scope, status.since / 1000);
  });
}
