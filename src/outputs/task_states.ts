// Per-target enum states a prober reports (its descriptor's taskStates; tcp_syn: each port's state)
// as /metrics series of continuous tasks: `name{task,...,target,KEY,STATE}` is 1 for the current
// state and 0 for the others (every state present, so a port leaving "open" shows as 0, not as a
// vanished series), and each change counts in the transitions counter {target,KEY,from,to}. Only
// tasks with per-target series (within max_target_series) get them, as sonde_probe_success.
import type { Registry } from 'prom-client';
import type { Task } from '../config/types';
import type { TaskStateSpec } from '../probers/descriptor';
import type { ProbeResult } from '../result';
import { CounterFamily, GaugeView, type Labels, type TaskScope } from './families';

interface KeyState {
  /** the series' labels per state, in spec.states order */
  labels: Labels[];
  state: number;
}

interface TaskStates {
  scope: TaskScope;
  targets: Map<string, Map<string, KeyState>>;
}

export class TaskStateSeries {
  readonly transitions: CounterFamily;
  private tasks = new Map<string, TaskStates>();

  constructor(
    registry: Registry,
    private readonly spec: TaskStateSpec,
  ) {
    new GaugeView(registry, spec.name, spec.help, (emit) => {
      for (const t of this.tasks.values())
        for (const keys of t.targets.values())
          for (const k of keys.values()) {
            for (let i = 0; i < k.labels.length; i++) emit(k.labels[i], i === k.state ? 1 : 0);
          }
    });
    this.transitions = new CounterFamily(registry, spec.transitions.name, spec.transitions.help, ['target', spec.keyLabel, 'from', 'to']);
  }

  /** Label names of the gauge after the task's own. */
  labelNames(): string[] {
    return ['target', this.spec.keyLabel, this.spec.stateLabel];
  }

  /** A new plan: tasks and targets no longer planned lose their states; a task with new labels starts over. */
  setTasks(tasks: ReadonlyArray<{ task: Task; scope: TaskScope; perTarget: boolean }>): void {
    const next = new Map<string, TaskStates>();
    for (const { task, scope, perTarget } of tasks) {
      if (!perTarget) continue;
      const old = this.tasks.get(task.name);
      if (!old || old.scope !== scope) {
        next.set(task.name, { scope, targets: new Map() });
        continue;
      }
      const keep = new Set(task.targets);
      for (const target of old.targets.keys()) if (!keep.has(target)) old.targets.delete(target);
      next.set(task.name, old);
    }
    for (const name of this.tasks.keys()) if (!next.has(name)) this.transitions.dropTask(name);
    this.tasks = next;
  }

  /** One result of a planned per-target task's target. */
  record(taskName: string, target: string, result: ProbeResult): void {
    const t = this.tasks.get(taskName);
    if (!t) return;
    let keys = t.targets.get(target);
    const spec = this.spec;
    spec.observe(result, (key, state) => {
      const i = spec.states.indexOf(state);
      if (i < 0) return;
      if (!keys) t.targets.set(target, (keys = new Map()));
      const known = keys.get(key);
      if (!known) {
        const base = { ...t.scope.labels, target, [spec.keyLabel]: key };
        keys.set(key, { labels: spec.states.map((s) => Object.freeze({ ...base, [spec.stateLabel]: s })), state: i });
        return;
      }
      if (known.state === i) return;
      this.transitions.group(t.scope).child(target, key, spec.states[known.state], state).inc();
      known.state = i;
    });
  }
}
