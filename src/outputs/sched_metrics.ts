// /metrics of the scheduler's bounds and the circuit breakers, read at scrape: runs each tenant
// waited for its quota, and each task's targets per breaker state. (Shed runs and breaker
// transitions are per-task counters of TaskMetrics: they go with their task.)
import { Counter, type Registry } from './prom_client';
import { BREAKER_STATES, type Breakers } from '../health/breaker';
import type { TaskBlock } from '../schedule/plan';
import { GaugeView, taskScope, type Labels } from './families';

export interface SchedulerView {
  tenantStates(): Iterable<{ name: string; throttled: number }>;
}

export function registerSchedulerMetrics(reg: Registry, scheduler: () => SchedulerView | undefined, breakers: Breakers): void {
  new Counter({
    name: 'sonde_tenant_throttled_total',
    help: "Runs that waited because their tenant was at its max_concurrency or max_probes_per_second (other tenants' tasks do not wait for it)",
    labelNames: ['tenant'],
    registers: [reg],
    collect() {
      this.reset();
      for (const t of scheduler()?.tenantStates() ?? []) this.inc({ tenant: t.name }, t.throttled);
    },
  });
  // Labels per task and state, made once per planned block (its text is cached by the registry).
  const labels = new WeakMap<TaskBlock, Labels[]>();
  new GaugeView(reg, 'sonde_breaker_state', 'Targets of the task per circuit breaker state (tasks with a breaker only)', (emit) => {
    for (const { block, counts } of breakers.stateCounts()) {
      let ls = labels.get(block);
      if (ls === undefined) {
        const scope = taskScope(block.task.name, block.task.labels);
        ls = BREAKER_STATES.map((state) => Object.freeze({ ...scope.labels, state }));
        labels.set(block, ls);
      }
      for (let i = 0; i < ls.length; i++) emit(ls[i], counts[i]);
    }
  });
}
