// The native engines' QoS classes on /metrics (src/native/qos.ts): per engine and class, probes that
// took a slot, probes shed at the engine's door (their class's queue past
// scheduler.engine_queue_bound), and now: probes waiting for a slot, probes holding one. Read from
// the engines at each scrape; an engine not made yet has no series.
import { Counter, Gauge, type Registry } from './prom_client';
import { ENGINE_CLASSES, type EngineClassCounters } from '../native/qos';
import type { Runtime } from '../runtime';

type Field = keyof EngineClassCounters;

export function registerEngineQosMetrics(reg: Registry, runtime: Runtime): void {
  const series = (kind: 'counter' | 'gauge', name: string, help: string, field: Field): void => {
    const config = { name, help, labelNames: ['engine', 'qos'] as const, registers: [reg] };
    // Both kinds are reset and set whole at each scrape: the engines keep the totals.
    const fill = (set: (labels: { engine: string; qos: string }, v: number) => void): void => {
      for (const { engine, counts } of runtime.engineClassCounters()) for (const qos of ENGINE_CLASSES) set({ engine, qos }, counts[qos][field]);
    };
    if (kind === 'counter') {
      new Counter({
        ...config,
        collect() {
          this.reset();
          fill((l, v) => this.inc(l, v));
        },
      });
    } else {
      new Gauge({
        ...config,
        collect() {
          this.reset();
          fill((l, v) => this.set(l, v));
        },
      });
    }
  };
  series('counter', 'sonde_engine_class_started_total', 'Probes that took a slot of a native engine, by engine (stream, icmp) and QoS class (critical, standard, best_effort, probe: /probe requests)', 'started');
  series(
    'counter',
    'sonde_engine_class_shed_total',
    "Probes a native engine shed at once because their QoS class's queue was past scheduler.engine_queue_bound (standard and best_effort only); their runs count in sonde_probes_shed_total{reason=\"engine\"}",
    'shed',
  );
  series('gauge', 'sonde_engine_class_waiting', "Probes waiting for a slot of a native engine now: all slots taken, or their class's share (scheduler.engine_*_share) is", 'waiting');
  series('gauge', 'sonde_engine_class_held', 'Slots of a native engine held now, by QoS class', 'held');
}
