// The keys table's lines for tasks and what bounds them (tenants:, scheduler:, a task's breaker:):
// see keys.test.ts. The scheduler reads the run-time keys; this branch decodes them.
import { read, section, type Section } from './keys_table';

const task = (x: Record<string, unknown>) => ({ modules: { m: { prober: 'http' } }, tasks: [{ name: 't', module: 'm', targets: ['http://127.0.0.1/'], ...x }] });

export const TASK_SECTIONS: Record<string, Section> = {
  'tasks[]': {
    place: task,
    keys: {
      name: read('task series label'),
      module: read('plan'),
      targets: read('plan'),
      targets_files: read('config/task_targets.ts at load, config/targets_watch.ts on change (test/config/targets_files.test.ts)'),
      interval: read('scheduler'),
      timeout: read('scheduler: probe deadline'),
      jitter: read('scheduler: first run offset'),
      success_threshold: read('up/down state'),
      failure_threshold: read('up/down state'),
      labels: read('every per-task and per-target series, /results, logs (test/daemon/labels.test.ts)'),
      max_target_series: read('outputs/metrics.ts: per-target series cap'),
      tenant: read('scheduler: the tenant\'s quotas'),
      qos: read('scheduler: shedding order under overload'),
      paused: read('scheduler: no probe; health/lifecycle.ts: Paused'),
      max_concurrency: read('scheduler: per-task bound'),
      breaker: section('tasks[].breaker'),
    },
  },
  'tasks[].breaker': {
    place: (x) => task({ breaker: x }),
    keys: { failures: read('scheduler: per-target breaker'), cooldown: read('scheduler: per-target breaker') },
  },
  'tenants[]': {
    place: (x) => ({ tenants: [{ name: 'a', ...x }] }),
    keys: { name: read('tasks[].tenant'), max_concurrency: read('scheduler: tenant bound'), max_probes_per_second: read('scheduler: tenant token bucket') },
  },
  scheduler: {
    place: (x) => ({ scheduler: x }),
    keys: {
      max_in_flight: read('scheduler: global bound'),
      max_per_host: read('scheduler: per-host bound'),
      shed_queue: read('scheduler: overload by queue'),
      shed_lag: read('scheduler: overload by event-loop lag'),
      engine_best_effort_share: read('native engines: best_effort share of the slots'),
      engine_standard_share: read('native engines: standard and best_effort share of the slots'),
      engine_queue_bound: read('native engines: lower classes shed past this queue'),
    },
  },
};
