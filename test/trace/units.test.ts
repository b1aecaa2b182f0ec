// Pure pieces of path probing: the `trace:` config section, `sonde trace` arguments and report,
// the path hash, and the /probe series (no privileges, no packets).
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { parseTraceArgs, formatTraceReport } from '../../src/cli/trace';
import { ConfigError, loadConfigFile } from '../../src/config/load';
import type { Module } from '../../src/config/types';
import { renderProbe } from '../../src/outputs/blackbox';
import { flowBaseFor, pathHash } from '../../src/probers/trace/run';
import { HopPacer, rateLimitedHops } from '../../src/probers/trace/pacer';
import type { ProbeResult, TraceFacts, TraceHop } from '../../src/result';
import { sondeTrace } from './helpers';

const FIXTURES = resolve(__dirname, '../../../test/fixtures/config/trace');

test('a trace module loads with every key, and an empty one gets the defaults', () => {
  const c = loadConfigFile(`${FIXTURES}/valid.yml`);
  assert.deepEqual(c.modules.get('path_udp')!.trace, {
    preferred_ip_protocol: 'ip4',
    ip_protocol_fallback: true,
    protocol: 'udp',
    port: 33500,
    first_ttl: 2,
    max_ttl: 12,
    rounds: 5,
    interval: 0.05,
    flows: 4,
    payload_size: 32,
  });
  assert.deepEqual(c.modules.get('path_default')!.trace, {
    preferred_ip_protocol: 'ip6',
    ip_protocol_fallback: true,
    protocol: 'icmp',
    port: 0,
    first_ttl: 1,
    max_ttl: 30,
    rounds: 3,
    interval: 0.1,
    flows: 1,
    payload_size: 24,
  });
  assert.equal(c.tasks[0].module, 'path_udp', 'a task may use the trace prober');
});

test('invalid trace sections are rejected with a message naming the key', () => {
  const cases: Array<[string, string]> = [
    ['max-ttl-below-first.yml', '6:16: modules.path.trace.max_ttl: got 3, expected a TTL not below first_ttl (5)'],
    ['bad-protocol.yml', '5:17: modules.path.trace.protocol: got "sctp", expected one of: icmp, udp, tcp'],
    ['target-with-port.yml', '7:15: tasks[0].targets[0]: got "198.51.100.7:80", expected a host name or IP address (no port, no scheme) for a trace module'],
  ];
  for (const [name, expected] of cases) {
    const file = `${FIXTURES}/${name}`;
    assert.throws(() => loadConfigFile(file), (e: unknown) => e instanceof ConfigError && e.message === `${file}:${expected}`, name);
  }
});

test('sonde trace arguments: defaults, every flag, and usage errors', () => {
  const a = parseTraceArgs(['target.test']);
  assert.deepEqual(a, {
    target: 'target.test',
    family: 4,
    json: false,
    report: false,
    explain: false,
    xdpInterface: undefined,
    options: { proto: 'icmp', port: 0, firstTtl: 1, maxTtl: 30, rounds: 10, flows: 1, interval: 1, timeout: 1, hopRateLimitMs: 1000 },
  });
  const b = parseTraceArgs(['-6', 'h', '--proto', 'tcp', '--port', '443', '--rounds', '3', '--max-ttl', '9', '--first-ttl', '2', '--flows', '8', '--interval', '0.1', '--timeout', '0.5', '--json']);
  assert.deepEqual(b, {
    target: 'h',
    family: 6,
    json: true,
    report: false,
    explain: false,
    xdpInterface: undefined,
    options: { proto: 'tcp', port: 443, firstTtl: 2, maxTtl: 9, rounds: 3, flows: 8, interval: 0.1, timeout: 0.5, hopRateLimitMs: 1000 },
  });
  // mtr's spellings: -r -c -i -u/-T -P -m -f -n -j.
  const m = parseTraceArgs(['h', '-r', '-c', '5', '-i', '0.5', '-T', '-P', '443', '-m', '12', '-f', '2', '-n', '-j', '--hop-ratelimit', '0']);
  assert.deepEqual([m.report, m.json, m.options.rounds, m.options.interval, m.options.proto, m.options.port, m.options.maxTtl, m.options.firstTtl, m.options.hopRateLimitMs], [true, true, 5, 0.5, 'tcp', 443, 12, 2, 0]);
  assert.equal(parseTraceArgs(['h', '-u']).options.proto, 'udp');
  const c = parseTraceArgs(['h', '--explain', '--xdp-interface', 'eth0']);
  assert.deepEqual({ explain: c.explain, xdpInterface: c.xdpInterface }, { explain: true, xdpInterface: 'eth0' });
  for (const bad of [[], ['a', 'b'], ['a', '--proto', 'sctp'], ['a', '--max-ttl', '0'], ['a', '--max-ttl', '256'], ['a', '--first-ttl', '5', '--max-ttl', '3'], ['a', '--rounds'], ['a', '-4', '-6'], ['a', '--bogus'], ['a', '--xdp-interface', 'eth0'], ['a', '--explain', '--xdp-interface', 'bad name!'], ['a', '-u', '-T'], ['a', '-i', '0'], ['a', '--hop-ratelimit', '-1'], ['a', '--timeout', '61']]) {
    assert.throws(() => parseTraceArgs(bad), { name: 'UsageError' }, JSON.stringify(bad));
  }
});

test('sonde trace exits 2 on a usage error, before opening any socket', () => {
  const r = sondeTrace(['198.19.204.2', '--proto', 'sctp']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--proto: got "sctp", expected icmp, udp or tcp/);
});

const rtt = { min: 0.001, median: 0.002, mean: 0.002, max: 0.003, stddev: 0.0005 };
const hop = (ttl: number, addresses: string[], received = 3): TraceHop => ({
  ttl,
  addresses,
  multipath: addresses.length > 1,
  sent: 3,
  received,
  loss: 1 - received / 3,
  ...(received ? { rtt } : {}),
});

test('the report is mtr\'s: Start:/HOST: header, Loss% Snt Last Avg Best Wrst StDev, multipath addresses, silent hops as ???', () => {
  const facts: TraceFacts = { proto: 'udp', reached: false, flows: 4, hops: [{ ...hop(1, ['10.0.0.1']), last: 0.0015 }, hop(2, ['10.0.1.1', '10.0.2.1']), hop(3, [], 0)], pathHash: 1 };
  const lines = formatTraceReport('t', '192.0.2.9', facts, undefined, { started: new Date(0), host: 'probe1' }).trimEnd().split('\n');
  assert.match(lines[0], /^Start: 19(69|70)-\d\d-\d\dT\d\d:\d\d:00[+-]\d{4}$/);
  assert.match(lines[1], /^HOST: probe1 +Loss% +Snt +Last +Avg +Best +Wrst +StDev$/);
  assert.match(lines[2], /^ {2}1\.\|-- 10\.0\.0\.1 +0\.0% +3 +1\.500 +2\.000 +1\.000 +3\.000 +0\.500$/);
  assert.match(lines[3], /^ {2}2\.\|-- 10\.0\.1\.1 .* multipath: 2 next hops$/);
  assert.equal(lines[4], '         10.0.2.1');
  assert.match(lines[5], /^ {2}3\.\|-- \?\?\? +100\.0% +3$/);
  assert.equal(lines[6], 'did not reach 192.0.2.9 (t) over udp (max TTL 3 shown), 4 flows; rtt in ms');
  // Column widths line up: every value ends where its title ends.
  const end = (line: string, at: number) => line.slice(0, at).trimEnd().length === at;
  const titleEnds = [...lines[1].matchAll(/\S+/g)].slice(2).map((m) => (m.index ?? 0) + m[0].length);
  for (const at of titleEnds) assert.ok(end(lines[2], at), `column ending at ${at}: ${lines[2]}`);
});

test('a hop that loses more than a later one is marked as a rate limit, but not within sampling noise', () => {
  const h = (sent: number, received: number) => ({ sent, received });
  assert.deepEqual(rateLimitedHops([h(10, 10), h(10, 2), h(10, 10)]), [false, true, false]);
  assert.deepEqual(rateLimitedHops([h(10, 10), h(10, 7), h(10, 7), h(10, 7)]), [false, false, false, false], 'loss that continues is the path\'s');
  assert.deepEqual(rateLimitedHops([h(10, 9), h(10, 10)]), [false, false], 'one probe in ten is noise');
  assert.deepEqual(rateLimitedHops([h(30, 6), h(30, 6), h(30, 30)]), [true, true, false]);
  assert.deepEqual(rateLimitedHops([h(10, 5), h(10, 0)]), [false, false], 'a dark end is no reference');
});

test('the pacer keeps each hop under the kernel\'s bucket: a burst, then one probe a ratelimit; the target\'s TTLs share one bucket', () => {
  let now = 0;
  const p = new HopPacer(1000, () => now);
  const one = new Map([[3, 1]]);
  for (let i = 0; i < p.burst; i++) {
    assert.equal(p.waitFor(one), 0, `burst probe ${i}`);
    p.spend(one);
  }
  const wait = p.waitFor(one);
  assert.ok(wait > 1000 && wait < 1100, `then about one a second: ${wait}`);
  now += wait;
  assert.equal(p.waitFor(one), 0);
  // TTL 5 and 6 went to the target that answered at 4: its bucket is what they spent.
  const q = new HopPacer(1000, () => now);
  q.spend(new Map([[4, 1], [5, 1], [6, 1]]));
  q.reachedAt(4);
  q.spend(new Map([[4, 2]]));
  assert.ok(q.waitFor(new Map([[4, 1]])) > 0, 'five spent of a burst of five');
  assert.equal(new HopPacer(0, () => now).waitFor(new Map([[1, 1000]])), 0, 'ratelimit 0: not paced');
});

test('the path hash depends on the address sets per TTL, not on their order or counts', () => {
  const a = pathHash([hop(1, ['10.0.0.1']), hop(2, ['10.0.1.1', '10.0.2.1'])]);
  assert.equal(a, pathHash([hop(1, ['10.0.0.1'], 1), hop(2, ['10.0.2.1', '10.0.1.1'])]));
  assert.notEqual(a, pathHash([hop(1, ['10.0.0.1']), hop(2, ['10.0.1.1'])]));
  assert.notEqual(a, pathHash([hop(1, ['10.0.0.1']), hop(2, [], 0)]));
  // Flow identifiers are stable per target and protocol, in the unprivileged-port range.
  assert.equal(flowBaseFor('192.0.2.1', 'udp'), flowBaseFor('192.0.2.1', 'udp'));
  assert.notEqual(flowBaseFor('192.0.2.1', 'udp'), flowBaseFor('192.0.2.1', 'tcp'));
  assert.ok(flowBaseFor('2001:db8::1', 'tcp') >= 33000 && flowBaseFor('2001:db8::1', 'tcp') < 49000);
});

test('/probe series of a trace: per-hop loss and rtt by TTL and address, hops, reached, path hash', async () => {
  const trace: TraceFacts = { proto: 'icmp', reached: true, flows: 1, hops: [hop(1, ['10.0.0.1']), hop(2, [], 0), hop(3, ['10.0.3.1', '10.0.3.2'], 2)], pathHash: 12345 };
  const result: ProbeResult = { target: 't', module: 'm', prober: 'trace', success: true, startedAt: 0, durationSeconds: 0.5, phases: { resolve: 0, trace: 0.5 }, address: '10.0.3.1', ipProtocol: 4, trace };
  const text = await renderProbe(result, { name: 'm', prober: 'trace' } as Module).metrics();
  for (const line of [
    'sonde_trace_reached 1',
    'sonde_trace_hops 3',
    'sonde_trace_path_hash 12345',
    // labels by name, as Go's client writes them
    'sonde_trace_hop_loss_ratio{address="10.0.0.1",ttl="1"} 0',
    'sonde_trace_hop_loss_ratio{address="*",ttl="2"} 1',
    'sonde_trace_hop_addresses{ttl="3"} 2',
    'sonde_trace_hop_rtt_seconds{address="10.0.0.1",stat="median",ttl="1"} 0.002',
    'probe_success 1',
  ]) {
    assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  }
  assert.doesNotMatch(text, /sonde_trace_hop_rtt_seconds\{ttl="2"/, 'a silent hop has no rtt');
});
