// GET /results renders each job's last result with resultToJSON, so every prober's facts are there:
// a trace result keeps its hops and path hash.
import { DEFAULT_PROBE_LIMITS, ProbeAdmission } from '../../src/api/admission';
import { DEFAULT_LISTENER_LIMITS } from '../../src/daemon';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { startServer } from '../../src/api/server';
import { silentLogger } from '../../src/log';
import { LatestResults } from '../../src/outputs/latest';
import { TaskMetrics } from '../../src/outputs/metrics';
import { HealthStage } from '../../src/health/stage';
import type { ProbeResult } from '../../src/result';
import type { Module, Task } from '../../src/config/types';
import { jobOf, planTask } from '../../src/schedule/plan';
import { testRuntime } from '../runtime';

const latest = new LatestResults();
let server: http.Server;
let address: AddressInfo;

before(async () => {
  // /results is served by Node; the native gateway is not part of what this checks.
  process.env.SONDE_GATEWAY = '0';
  const stop = new AbortController();
  const s = await startServer(
    {
      logger: silentLogger,
      metrics: new TaskMetrics('test', new HealthStage()),
      latest,
      config: () => ({ source: 'test', modules: new Map(), tasks: [] }),
      ready: () => true,
      reload: async () => ({ ok: true }),
      flows: () => undefined,
      runtime: testRuntime,
      signal: stop.signal,
      admission: new ProbeAdmission(DEFAULT_PROBE_LIMITS),
      listenerLimits: DEFAULT_LISTENER_LIMITS,
    },
    [{ host: '127.0.0.1', port: 0 }],
  );
  server = s.servers[0];
  address = s.addresses[0];
});
after(() => server.close());

test('/results: a trace result has trace.hops and trace.path_hash', async () => {
  const rtt = { min: 0.001, median: 0.002, mean: 0.002, max: 0.003, stddev: 0.001 };
  const result: ProbeResult = {
    target: '192.0.2.9',
    module: 'trace_icmp',
    prober: 'trace',
    success: true,
    startedAt: Date.now(),
    durationSeconds: 0.05,
    phases: { resolve: 0, trace: 0.05 },
    trace: {
      proto: 'icmp',
      reached: true,
      flows: 1,
      pathHash: 777,
      hops: [
        { ttl: 1, addresses: ['192.0.2.1'], multipath: false, sent: 3, received: 3, loss: 0, rtt },
        { ttl: 2, addresses: ['192.0.2.9'], multipath: false, sent: 3, received: 3, loss: 0, rtt },
      ],
    },
  };
  const task: Task = { name: 'paths', module: 'trace', targets: ['192.0.2.9'], interval: 60, timeout: 10, jitter: 0, success_threshold: 1, failure_threshold: 1, labels: {}, max_target_series: 1000 };
  const block = planTask(task, { name: 'trace', prober: 'trace' } as Module);
  latest.applyTasks([block]);
  latest.record(jobOf(block, 0), result);
  const res = await fetch(`http://127.0.0.1:${address.port}/results?task=paths`);
  assert.equal(res.status, 200);
  const [o] = (await res.json()) as Array<{ task: string; trace?: { path_hash: number; hops: Array<{ ttl: number; addresses: string[] }> } }>;
  assert.equal(o.task, 'paths');
  assert.ok(o.trace, 'no trace facts in /results');
  assert.equal(o.trace.path_hash, 777);
  assert.deepEqual(o.trace.hops.map((h) => [h.ttl, h.addresses]), [[1, ['192.0.2.1']], [2, ['192.0.2.9']]]);
});
