// The prober registry is the one list of probers: every descriptor has every part, and every table
// that lists probers (module sections, prober names, tasks' probers and target checks, /probe
// writers, JSON, task metrics) is derived from it. A prober missing a part, or a table that drifts
// from the registry (as the JSON of trace results once lost its hops), fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AVAILABLE_PROBERS, ConfigError, loadConfigString } from '../../src/config/load';
import type { Module } from '../../src/config/types';
import { renderProbe } from '../../src/outputs/blackbox';
import { writeCommon } from '../../src/outputs/blackbox/common';
import { ProbeRegistry } from '../../src/outputs/blackbox/registry';
import { resultToJSON } from '../../src/outputs/json';
import { TaskMetrics } from '../../src/outputs/metrics';
import { HealthStage } from '../../src/health/stage';
import type { ProberDescriptor } from '../../src/probers/descriptor';
import { NOT_YET_AVAILABLE, PROBER_NAMES, PROBERS, RUNNABLE_PROBERS, moduleSection, proberFor, type RunnableProber } from '../../src/probers/index';
import type { ProbeResult } from '../../src/result';
import { silentLogger } from '../../src/log';
import { runProbe } from '../../src/schedule/run_probe';
import { testRuntime } from '../runtime';

/** The parts of a descriptor and what each must be; missingParts names those that are not. */
const PARTS: Record<string, (v: unknown) => boolean> = {
  name: (v) => typeof v === 'string' && v !== '',
  probe: (v) => typeof v === 'function',
  checkTarget: (v) => typeof v === 'function',
  writeBlackbox: (v) => typeof v === 'function',
  json: (v) => typeof v === 'function',
  taskMetrics: (v) => Array.isArray(v),
  'config.decode': (v) => typeof v === 'function',
  'config.defaults': (v) => typeof v === 'function',
};

function missingParts(d: unknown): string[] {
  const get = (path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), d);
  return Object.entries(PARTS)
    .filter(([path, ok]) => !ok(get(path)))
    .map(([path]) => path);
}

test('the part check itself names what a descriptor lacks', () => {
  const { json: _json, ...noJSON } = PROBERS.http;
  assert.deepEqual(missingParts(noJSON), ['json']);
  assert.deepEqual(missingParts({ ...PROBERS.icmp, config: { decode: PROBERS.icmp.config.decode } }), ['config.defaults']);
});

for (const [key, d] of Object.entries(PROBERS)) {
  test(`prober ${key}: every part present, registered under its own name`, () => {
    assert.deepEqual(missingParts(d), []);
    assert.equal(d.name, key);
    for (const spec of d.taskMetrics) {
      assert.match(spec.name, /^sonde_[a-z0-9_]+$/, `${key}: metric name`);
      assert.ok(spec.help.length > 0, `${key} ${spec.name}: help`);
      assert.ok(spec.type === 'counter' || spec.type === 'histogram', `${key} ${spec.name}: type`);
      assert.equal(typeof spec.observe, 'function', `${key} ${spec.name}: observe`);
    }
  });
}

test('known probers that cannot run yet have a decoder and no more, and are not runnable', () => {
  for (const [name, s] of Object.entries(NOT_YET_AVAILABLE)) {
    assert.equal(typeof s.decode, 'function', name);
    assert.equal(typeof s.defaults, 'function', name);
    assert.equal(proberFor(name), undefined, name);
    assert.ok(!Object.hasOwn(PROBERS, name), `${name} is in both tables`);
  }
});

test('the lists of probers are the registry: prober names, tasks\' probers', () => {
  assert.deepEqual([...RUNNABLE_PROBERS], Object.keys(PROBERS));
  assert.deepEqual([...AVAILABLE_PROBERS], Object.keys(PROBERS));
  assert.deepEqual([...PROBER_NAMES], [...Object.keys(PROBERS), ...Object.keys(NOT_YET_AVAILABLE)]);
  assert.equal(new Set(PROBER_NAMES).size, PROBER_NAMES.length);
});

function loadError(yaml: string): string {
  try {
    loadConfigString(yaml, 't.yml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
}

test('a module has one section per registered prober, decoded to its descriptor\'s defaults', () => {
  const names = PROBER_NAMES.join(', ');
  assert.equal(loadError('modules:\n  m:\n    prober: htp\n'), `t.yml:3:13: modules.m.prober: got "htp", expected one of: ${names}`);
  assert.equal(loadError('modules:\n  m:\n    prober: http\n    htp: {}\n'), `t.yml:4:5: modules.m.htp: unknown key (expected one of: prober, timeout, ${names})`);
  const own: Record<string, string> = { dns: '    dns:\n      query_name: name.sonde.test\n', tcp_syn: '    tcp_syn:\n      ports: "22"\n' };
  const yaml = PROBER_NAMES.map((p) => `  m_${p}:\n    prober: ${p}\n${own[p] ?? ''}`).join('');
  const cfg = loadConfigString(`modules:\n${yaml}`, 't.yml');
  for (const p of PROBER_NAMES) {
    const m = cfg.modules.get(`m_${p}`)!;
    assert.equal(m.prober, p);
    for (const q of PROBER_NAMES) {
      if (q === p && q in own) continue; // its section was set above
      assert.deepEqual(m[q], moduleSection(q).defaults(), `module m_${p}, section ${q}`);
    }
  }
});

test('a dns module may leave query_name to its targets (NAME@server); a target without one fails with reason config', async () => {
  const cfg = loadConfigString('modules:\n  m:\n    prober: dns\n', 't.yml');
  assert.equal(cfg.modules.get('m')!.dns.query_name, '');
  const r = await runProbe('127.0.0.1:1', cfg.modules.get('m')!, { timeoutSeconds: 1, logger: silentLogger, runtime: testRuntime });
  assert.equal(r.reason, 'config');
  assert.match(r.message ?? '', /no query name .*NAME@127\.0\.0\.1:1/);
});

test('tasks check targets with the prober\'s checkTarget, and refuse probers that cannot run yet', () => {
  for (const [name, d] of Object.entries(PROBERS)) {
    const problem = d.checkTarget('a b');
    assert.ok(problem, `${name} accepts "a b"`);
    // tcp_syn needs its ports: two more lines before the task.
    const section = name === 'tcp_syn' ? '    tcp_syn:\n      ports: "22"\n' : '';
    const yaml = `modules:\n  m:\n    prober: ${name}\n${section}tasks:\n  - name: t\n    module: m\n    targets: ["a b"]\n    interval: 10s\n`;
    assert.equal(loadError(yaml), `t.yml:${section ? 9 : 7}:15: tasks[0].targets[0]: got "a b", expected ${problem} for a ${name} module`);
  }
  for (const name of Object.keys(NOT_YET_AVAILABLE)) {
    const section = name === 'dns' ? '    dns:\n      query_name: name.sonde.test\n' : '';
    const yaml = `modules:\n  m:\n    prober: ${name}\n${section}tasks:\n  - name: t\n    module: m\n    targets: ["x"]\n    interval: 10s\n`;
    assert.match(loadError(yaml), new RegExp(`tasks\\[0\\]\\.module: prober ${name} is not available yet in this version of sonde`));
  }
});

test('runProbe runs the registered probe and refuses a prober that cannot run yet', async () => {
  for (const name of Object.keys(NOT_YET_AVAILABLE)) {
    const r = await runProbe('x', { name: 'm', prober: name, timeout: 1 } as unknown as Module, { timeoutSeconds: 1, logger: silentLogger, runtime: testRuntime });
    assert.equal(r.reason, 'config', name);
    assert.match(r.message ?? '', /not available/);
  }
});

// One result per runnable prober carrying its facts, as its probe would return them.
const base = { target: 't', module: 'm', success: true, startedAt: 0, durationSeconds: 0.01, phases: { resolve: 0.001 }, address: '192.0.2.1', ipProtocol: 4 as const };
const rtt = { min: 0.001, median: 0.002, mean: 0.002, max: 0.003, stddev: 0.001 };
const SAMPLES: Record<RunnableProber, ProbeResult> = {
  http: {
    ...base,
    prober: 'http',
    http: { statusCode: 200, version: 1.1, ssl: false, redirects: 0, contentLength: 5, uncompressedBodyLength: 5, failedDueToRegex: false, hops: [{ url: 'http://t/', statusCode: 200, phases: { connect: 0.0001234567891 } }] },
  },
  tcp: { ...base, prober: 'tcp', tcp: { failedDueToRegex: false, expectInfo: [{ labels: { version: '2' } }] } },
  icmp: { ...base, prober: 'icmp', icmp: { sent: 3, received: 2, duplicates: 1, loss: 1 / 3, rtt, rtts: [0.001, 0.003], replyHopLimit: 64 } },
  dns: {
    ...base,
    prober: 'dns',
    phases: { resolve: 0.001, connect: 0.0001, request: 0.0002 },
    dns: { transport: 'udp', queryName: 'name.sonde.test', queryType: 'A', querySucceeded: true, answerRRs: 1, authorityRRs: 0, additionalRRs: 1, rcode: 0, rrsig: false, ednsBroken: false, tcpRetry: false },
  },
  tcp_syn: {
    ...base,
    prober: 'tcp_syn',
    phases: { resolve: 0.001, scan: 0.5 },
    tcpSyn: {
      ports: [
        { port: 22, state: 'open', reason: 'syn-ack', ttl: 64, rtt: 0.0002 },
        { port: 23, state: 'filtered', reason: 'admin-prohibited', icmpCode: 13, ttl: 63, rtt: 0.0003 },
      ],
      open: 1,
      closed: 0,
      filtered: 1,
      sent: 2,
      validated: 2,
      foreign: 0,
    },
  },
  trace: {
    ...base,
    prober: 'trace',
    trace: { proto: 'icmp', reached: true, flows: 1, pathHash: 4242, hops: [{ ttl: 1, addresses: ['192.0.2.1'], multipath: false, sent: 3, received: 3, loss: 0, rtt }] },
  },
};

for (const [name, d] of Object.entries(PROBERS) as Array<[RunnableProber, ProberDescriptor]>) {
  test(`prober ${name}: JSON results and /probe series come from its descriptor`, () => {
    const r = SAMPLES[name];
    const own = d.json(r);
    assert.deepEqual(Object.keys(own), [name], `${name}: its facts, under its name`);
    const j = resultToJSON(r);
    for (const [k, v] of Object.entries(own)) assert.deepEqual(j[k], v, `resultToJSON.${k}`);

    const module = { name: 'm', prober: name } as Module;
    const reg = new ProbeRegistry();
    d.writeBlackbox(r, module, reg);
    writeCommon(r, reg);
    assert.equal(renderProbe(r, module).metricsSync(), reg.metricsSync());
  });
}

test('JSON of a trace result has its hops and path hash (sonde probe --json, /results)', () => {
  const t = resultToJSON(SAMPLES.trace).trace as { path_hash: number; reached: boolean; hops: Array<{ ttl: number; addresses: string[]; rtt: unknown }> };
  assert.ok(t, 'trace facts missing from the JSON of a trace result');
  assert.equal(t.path_hash, 4242);
  assert.equal(t.reached, true);
  assert.deepEqual(t.hops, [{ ttl: 1, addresses: ['192.0.2.1'], multipath: false, sent: 3, received: 3, loss: 0, rtt, last: null, rate_limited: false }]);
});

test('JSON of http hops rounds their phases to nanoseconds, as the result\'s own phases', () => {
  const h = resultToJSON(SAMPLES.http).http as { hops: Array<{ phases: Record<string, number> }> };
  assert.equal(h.hops[0].phases.connect, 0.000123457);
});

test('icmp task metrics: one rtt observation per reply, packets by kind, as TaskMetrics registers them', async () => {
  const seen: Record<string, Array<[number, ...string[]]>> = {};
  for (const spec of PROBERS.icmp.taskMetrics) {
    seen[spec.name] = [];
    spec.observe(SAMPLES.icmp, (value, ...labels) => seen[spec.name].push([value, ...labels]));
  }
  assert.deepEqual(seen, {
    sonde_icmp_rtt_seconds: [[0.001], [0.003]],
    sonde_icmp_packets_total: [
      [3, 'sent'],
      [2, 'received'],
      [1, 'duplicate'],
    ],
  });
  const noFacts: Record<string, number> = {};
  for (const spec of PROBERS.icmp.taskMetrics) spec.observe({ ...SAMPLES.icmp, icmp: undefined }, () => (noFacts[spec.name] = 1));
  assert.deepEqual(noFacts, {}, 'a result without icmp facts adds nothing');

  // Same name, type, help and labels as the per-task series of /metrics.
  const m = new TaskMetrics('test', new HealthStage());
  for (const spec of PROBERS.icmp.taskMetrics) {
    const series = m.registry.getSingleMetric(spec.name);
    assert.ok(series, `${spec.name} is not a /metrics series`);
    const got = await series.get();
    assert.equal(got.type, spec.type, spec.name);
    assert.equal(got.help, spec.help, spec.name);
  }
});
