// prom-client's classes from their own files. Its index loads every class it has, the Pushgateway
// among them, which requires node:https and with it node:tls (~1.2 MB of idle RSS, issue 11) in a
// daemon that never pushes; the Summary's t-digest comes along too. Same files, same objects: a
// metric made here is the one prom-client's Registry (and a test importing 'prom-client') knows.
import type * as client from 'prom-client';

/* eslint-disable @typescript-eslint/no-require-imports -- the files, not the index (see above); types from the index */
export const Registry = require('prom-client/lib/registry') as typeof client.Registry;
export const Counter = require('prom-client/lib/counter') as typeof client.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof client.Gauge;
/* eslint-enable @typescript-eslint/no-require-imports */

type DefaultMetric = (registry: client.Registry, config: Record<string, unknown>) => void;

// prom-client's default metrics, each from its own file as its collectDefaultMetrics takes them,
// except process_cpu_*: prom-client's file for those requires @opentelemetry/api (51 modules,
// ~0.65 MB of idle RSS) for exemplars, which sonde never enables. processCpu below is the same
// three counters without them.
const DEFAULT_METRIC_FILES = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
];

/** process_cpu_user_seconds_total, process_cpu_system_seconds_total and process_cpu_seconds_total, as prom-client's. */
function processCpu(registry: client.Registry): void {
  const registers = [registry];
  let last = process.cpuUsage();
  // Registered first, with the collect that sets all three, as prom-client's: the registry
  // collects in registration order, so the other two are fresh when they are rendered.
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      const u = (now.user - last.user) / 1e6;
      const s = (now.system - last.system) / 1e6;
      last = now;
      user.inc(u);
      system.inc(s);
      total.inc(u + s);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });
}

/** prom-client's default metrics on `register` (its collectDefaultMetrics with no other option). */
export function collectDefaultMetrics(opts: { register: client.Registry }): void {
  const config = { eventLoopMonitoringPrecision: 10, register: opts.register };
  processCpu(opts.register);
  for (const f of DEFAULT_METRIC_FILES) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above: the files, not the index
    (require(`prom-client/lib/metrics/${f}`) as DefaultMetric)(opts.register, config);
  }
}

export type Registry = client.Registry;
export type Counter<T extends string = string> = client.Counter<T>;
export type Gauge<T extends string = string> = client.Gauge<T>;
