// The tcp_syn prober on a fake SYN engine: one small ScanSpec per probe, port states and verdicts,
// scan.allow checked at load (literal targets) and at probe time (after resolution, before any
// SYN), the /probe series, and the port-state and transition series of a continuous task.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatResult } from '../../src/cli/format';
import { ConfigError, loadConfigString } from '../../src/config/load';
import { HealthStage } from '../../src/health/stage';
import { silentLogger } from '../../src/log';
import { renderProbe } from '../../src/outputs/blackbox';
import { TaskMetrics } from '../../src/outputs/metrics';
import type { Runtime } from '../../src/runtime';
import { runProbe } from '../../src/schedule/run_probe';
import { blocksOf, planJobs, planTask } from '../../src/schedule/plan';
import { metric } from '../lab/daemon';
import { FakeSynEngine, type Truth } from './fake_engine';

const CONFIG = `
scan:
  allow: [127.0.0.0/8, "::1/128", 198.18.0.0/15]
modules:
  syn:
    prober: tcp_syn
    tcp_syn:
      ports: "22,80,8000-8002"
      rate: 5000
      retries: 2
      wait: 250ms
      source_port_range: 40000-40999
  syn_any:
    prober: tcp_syn
    tcp_syn:
      ports: "22,23"
      fail_if_not_open: false
tasks:
  - name: ports
    module: syn
    targets: [127.0.0.1, 198.18.0.9]
    interval: 10s
`;

function runtimeWith(engine: FakeSynEngine): Runtime {
  return { syn: () => engine } as unknown as Runtime;
}

const byPort =
  (states: Record<number, 'open' | 'closed' | 'filtered'>): Truth =>
  (_a, p) => {
    const s = states[p] ?? 'closed';
    if (s === 'open') return { state: s, reason: 'syn-ack', ttl: 64, rtt: 0.0002 };
    if (s === 'closed') return { state: s, reason: 'reset', ttl: 64, rtt: 0.0002 };
    return { state: s, reason: 'no-response' };
  };

test('tcp_syn: one ScanSpec per probe with the module\'s ports, rate, retries, wait and source ports; every port open succeeds', async () => {
  const cfg = loadConfigString(CONFIG, 't.yml');
  const engine = new FakeSynEngine(byPort({ 22: 'open', 80: 'open', 8000: 'open', 8001: 'open', 8002: 'open' }));
  const r = await runProbe('127.0.0.1', cfg.modules.get('syn')!, { timeoutSeconds: 5, logger: silentLogger, runtime: runtimeWith(engine) });
  assert.equal(r.success, true, r.message);
  assert.equal(engine.specs.length, 1);
  const s = engine.specs[0];
  assert.deepEqual(s.runs, [{ family: 4, first: '127.0.0.1', count: 1 }]);
  assert.deepEqual(s.ports, [
    [22, 22],
    [80, 80],
    [8000, 8002],
  ]);
  assert.deepEqual([s.rate, s.retries, s.waitMs, s.allStates, s.sourcePorts], [5000, 2, 250, true, [40000, 40999]]);
  assert.ok(s.maxRuntimeMs !== undefined && s.maxRuntimeMs > 0 && s.maxRuntimeMs <= 5000);
  assert.deepEqual(
    r.tcpSyn?.ports.map((p) => p.port),
    [22, 80, 8000, 8001, 8002],
  );
  assert.equal(r.tcpSyn?.open, 5);
});

test('tcp_syn verdicts: closed is refused, silent is connect_timeout, fail_if_not_open: false needs only a state per port', async () => {
  const cfg = loadConfigString(CONFIG, 't.yml');
  const probe = (module: string, truth: Truth) => runProbe('127.0.0.1', cfg.modules.get(module)!, { timeoutSeconds: 5, logger: silentLogger, runtime: runtimeWith(new FakeSynEngine(truth)) });
  const closed = await probe('syn', byPort({ 22: 'open', 80: 'closed', 8000: 'open', 8001: 'open', 8002: 'open' }));
  assert.deepEqual([closed.success, closed.reason], [false, 'refused']);
  assert.match(closed.message ?? '', /1 of 5 ports not open: 80 closed \(reset\)/);
  const silent = await probe('syn', byPort({ 22: 'filtered', 80: 'open', 8000: 'open', 8001: 'open', 8002: 'open' }));
  assert.deepEqual([silent.success, silent.reason], [false, 'connect_timeout']);
  const any = await probe('syn_any', byPort({ 22: 'closed', 23: 'filtered' }));
  assert.equal(any.success, true, any.message);
  assert.deepEqual([any.tcpSyn?.closed, any.tcpSyn?.filtered], [1, 1]);
});

test('tcp_syn refuses targets outside scan.allow: literals at load, names after resolution with no SYN sent', async () => {
  assert.throws(
    () => loadConfigString(CONFIG.replace('targets: [127.0.0.1, 198.18.0.9]', 'targets: [127.0.0.1, 10.1.2.3]'), 't.yml'),
    (e: unknown) => e instanceof ConfigError && /tasks\[0\]\.targets\[1\]: got "10\.1\.2\.3", expected an address inside scan\.allow \(127\.0\.0\.0\/8, ::1\/128, 198\.18\.0\.0\/15\)/.test(e.message),
  );
  // Without a scan: section, loopback only.
  const plain = loadConfigString('modules:\n  s:\n    prober: tcp_syn\n    tcp_syn:\n      ports: "22"\n', 'p.yml');
  const engine = new FakeSynEngine(byPort({}));
  const r = await runProbe('198.18.0.9', plain.modules.get('s')!, { timeoutSeconds: 5, logger: silentLogger, runtime: runtimeWith(engine) });
  assert.deepEqual([r.success, r.reason], [false, 'config']);
  assert.match(r.message ?? '', /198\.18\.0\.9 \(198\.18\.0\.9\) is outside scan\.allow \(127\.0\.0\.0\/8, ::1\/128\): no SYN sent/);
  assert.equal(engine.specs.length, 0, 'no scan started');
  // `localhost` resolves to loopback and may be probed.
  const ok = await runProbe('localhost', plain.modules.get('s')!, { timeoutSeconds: 5, logger: silentLogger, runtime: runtimeWith(engine) });
  assert.equal(ok.reason, 'refused');
  assert.equal(engine.specs.length, 1);
});

test('tcp_syn config is strict: ports required and in nmap syntax, ranges checked', () => {
  const bad: Array<[string, RegExp]> = [
    ['    tcp_syn:\n      rate: 10\n', /modules\.s\.tcp_syn\.ports: missing required key/],
    ['', /modules\.s\.tcp_syn: missing required key \(tcp_syn\.ports/],
    ['    tcp_syn:\n      ports: "22,99999"\n', /tcp_syn\.ports: got "22,99999", expected ports in nmap syntax .*99999 is not from 1 to 65535/],
    ['    tcp_syn:\n      ports: "22"\n      source_port_range: 10-20\n', /source_port_range: got "10-20", expected a port range LO-HI within 1024-65535/],
    ['    tcp_syn:\n      ports: "22"\n      rate: 0\n', /tcp_syn\.rate: got 0/],
    ['    tcp_syn:\n      ports: "22"\n      bogus: 1\n', /tcp_syn\.bogus: unknown key/],
  ];
  for (const [section, re] of bad) {
    assert.throws(() => loadConfigString(`modules:\n  s:\n    prober: tcp_syn\n${section}`, 'b.yml'), (e: unknown) => e instanceof ConfigError && re.test(e.message), section);
  }
});

test('tcp_syn /probe series: each port with all three states, 1 for the current one', async () => {
  const cfg = loadConfigString(CONFIG, 't.yml');
  const module = cfg.modules.get('syn_any')!;
  const r = await runProbe('127.0.0.1', module, { timeoutSeconds: 5, logger: silentLogger, runtime: runtimeWith(new FakeSynEngine(byPort({ 22: 'open', 23: 'filtered' }))) });
  const text = renderProbe(r, module).metricsSync();
  assert.equal(metric(text, 'probe_success'), 1);
  assert.equal(metric(text, 'sonde_port_state{port="22",state="open"}'), 1);
  assert.equal(metric(text, 'sonde_port_state{port="22",state="closed"}'), 0);
  assert.equal(metric(text, 'sonde_port_state{port="23",state="filtered"}'), 1);
  assert.equal(metric(text, 'sonde_port_state{port="23",state="open"}'), 0);
  assert.equal(metric(text, 'sonde_port_rtt_seconds{port="22"}'), 0.0002);
  assert.equal(metric(text, 'sonde_port_rtt_seconds{port="23"}'), undefined, 'no RTT for a silent port');
  // `sonde probe --module` shows the ports under the phases.
  const human = formatResult(r, false);
  assert.match(human, /SYN Scan/);
  assert.match(human, /ports: 1 open, 0 closed, 1 filtered \(2 SYNs sent\)\n {2}22\/tcp +open +syn-ack ttl 64 200µs\n {2}23\/tcp +filtered +no-response\n/);
});

test('tcp_syn task series: sonde_port_state per target and port, and transitions counted by from and to', async () => {
  const cfg = loadConfigString(CONFIG, 't.yml');
  const health = new HealthStage();
  const m = new TaskMetrics('test', health);
  const jobs = planJobs(cfg);
  health.setPlan(blocksOf(jobs));
  m.setTasks(blocksOf(jobs));
  const job = jobs.find((j) => j.target === '127.0.0.1')!;
  const states: Array<Record<number, 'open' | 'closed' | 'filtered'>> = [
    { 22: 'open', 80: 'open' },
    { 22: 'open', 80: 'closed' },
    { 22: 'filtered', 80: 'open' },
  ];
  for (const s of states) {
    const r = await runProbe(job.target, job.module, { timeoutSeconds: 5, logger: silentLogger, runtime: runtimeWith(new FakeSynEngine(byPort(s))) });
    health.record(job, r);
    m.record(job, r);
  }
  const text = await m.registry.metrics();
  const at = (port: number, state: string) => metric(text, `sonde_port_state{task="ports",target="127.0.0.1",port="${port}",state="${state}"}`);
  assert.deepEqual([at(22, 'open'), at(22, 'filtered'), at(80, 'open'), at(80, 'closed'), at(8000, 'closed')], [0, 1, 1, 0, 1]);
  const tr = (port: number, from: string, to: string) => metric(text, `sonde_port_state_transitions_total{task="ports",target="127.0.0.1",port="${port}",from="${from}",to="${to}"}`);
  assert.deepEqual([tr(80, 'open', 'closed'), tr(80, 'closed', 'open'), tr(22, 'open', 'filtered')], [1, 1, 1]);
  assert.equal(tr(8000, 'closed', 'open'), undefined, 'a port that never changed has no transition');
  // A reload without the target drops its series.
  m.setTasks([planTask({ ...cfg.tasks[0], targets: ['198.18.0.9'] }, jobs[0].module)]);
  assert.equal(metric(await m.registry.metrics(), 'sonde_port_state{task="ports",target="127.0.0.1",port="22",state="filtered"}'), undefined);
});
