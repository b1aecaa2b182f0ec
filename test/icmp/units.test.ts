// Pure pieces of the ICMP prober: address bytes, RTT statistics, `sonde ping` arguments, /probe series.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePingArgs } from '../../src/cli/ping_args';
import { IcmpTargets } from '../../src/native/icmp';
import { addressBytes, formatAddress } from '../../src/native/ipaddr';
import { writeICMP } from '../../src/probers/icmp/blackbox';
import { renderProbe } from '../../src/outputs/blackbox';
import { rttStats } from '../../src/probers/icmp/round';
import type { ProbeResult } from '../../src/result';
import { icmpModule } from './helpers';

test('addresses round-trip through the 16-byte form, IPv6 printed per RFC 5952', () => {
  const cases: Array<[string, string]> = [
    ['198.19.204.2', '198.19.204.2'],
    ['::1', '::1'],
    ['fd5e:ed00:3204::2', 'fd5e:ed00:3204::2'],
    ['FD5E:ED00:0:0:1:0:0:0', 'fd5e:ed00:0:0:1::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:198.19.0.1', '::ffff:c613:1'],
    ['::', '::'],
  ];
  for (const [input, printed] of cases) {
    const { family, bytes } = addressBytes(input);
    assert.equal(formatAddress(bytes, family), printed, input);
  }
  assert.throws(() => addressBytes('example.test'), RangeError);
});

test('targets parsed once: 16 bytes and a family each, repeats copied, slices share memory, picks copy', () => {
  const t = IcmpTargets.parse(['198.19.0.1', '::1', '198.19.0.1', '198.19.0.2']);
  assert.equal(t.length, 4);
  const at = (x: IcmpTargets, i: number) => formatAddress(x.bytes.subarray(i * 16, i * 16 + 16), x.families[i]);
  assert.deepEqual([0, 1, 2, 3].map((i) => at(t, i)), ['198.19.0.1', '::1', '198.19.0.1', '198.19.0.2']);
  assert.deepEqual(Array.from(t.families), [4, 6, 4, 4]);
  const s = t.slice(1, 3);
  assert.deepEqual([s.length, at(s, 0), at(s, 1), s.bytes.buffer === t.bytes.buffer], [2, '::1', '198.19.0.1', true]);
  const p = t.pick([3, 1]);
  assert.deepEqual([p.length, at(p, 0), at(p, 1), p.bytes.buffer === t.bytes.buffer], [2, '198.19.0.2', '::1', false]);
  assert.throws(() => IcmpTargets.parse(['198.19.0.1', 'example.test']), RangeError);
});

test('rtt statistics: min, median (even and odd counts), mean, max, population stddev', () => {
  assert.equal(rttStats([]), undefined);
  const s = rttStats([0.003, 0.001, 0.002]);
  assert.deepEqual({ ...s, stddev: 0 }, { min: 0.001, median: 0.002, mean: 0.002, max: 0.003, stddev: 0 });
  assert.ok(Math.abs((s?.stddev ?? 0) - Math.sqrt(2 / 3) / 1000) < 1e-12);
  assert.equal(rttStats([4, 1, 3, 2])?.median, 2.5);
});

test('sonde ping arguments: fping meanings (ms, count modes), units, and usage errors', () => {
  const a = parsePingArgs(['a', '-c', '5', '-p', '200', 'b', '--json']);
  assert.ok(!('help' in a));
  assert.deepEqual([a.targets, a.mode, a.count, a.period, a.timeout, a.size, a.json], [['a', 'b'], 'count', 5, 200, 200, 56, true]);
  const d = parsePingArgs(['a']);
  assert.ok(!('help' in d));
  assert.deepEqual([d.mode, d.timeout, d.retries, d.interval], ['alive', 500, 3, 0]);
  const u = parsePingArgs(['a', '-l', '-i', '1.5s', '-t', '250ms']);
  assert.ok(!('help' in u));
  assert.deepEqual([u.mode, u.interval, u.timeout], ['loop', 1500, 250]);
  assert.deepEqual(parsePingArgs(['--help']), { help: true });
  // fping's fastest form: a period under a millisecond (`-p 0.5`), the timeout following it.
  const f = parsePingArgs(['a', '-q', '-c', '250', '-p', '0.5', '-i', '0']);
  assert.ok(!('help' in f));
  assert.deepEqual([f.period, f.timeout, f.interval], [0.5, 0.5, 0]);
  const bad: Array<[string[], RegExp]> = [
    [[], /no target given/],
    [['a', '-c'], /flag -c needs a value/],
    [['a', '-c', '0'], /-c: got "0", expected an integer from 1/],
    [['a', '-i', 'x'], /-i: got "x", expected milliseconds/],
    [['a', '--bogus'], /unknown flag --bogus/],
    [['a', '-H', '256'], /-H: got "256", expected an integer from 1 to 255/],
    [['a', '-s', '5'], /-b: got "5", expected an integer from 12 to 8192 bytes/],
    [['a', '-c', '3', '-l'], /-c and -l exclude each other/],
    [['a', '-c', '3', '-r', '1'], /-r and -B apply to the default mode only/],
    [['a', '-t', '0'], /-t: got "0", expected 1 to 3600000 ms/],
    [['a', '-c', '2', '-p', '0.05'], /-p: got "0.05", expected 0.1 to 3600000 ms/],
    [['-g', '198.18.0.0/4'], /-g: got \/4, expected a prefix length from 8 to 32/],
  ];
  for (const [args, message] of bad) assert.throws(() => parsePingArgs(args), message, JSON.stringify(args));
});

test('/probe shows blackbox icmp series and sonde round statistics', async () => {
  const module = icmpModule();
  const result: ProbeResult = {
    target: '198.19.204.2', module: 'icmp_test', prober: 'icmp', success: true, startedAt: 0, durationSeconds: 0.01,
    phases: { resolve: 0.0001, setup: 0.00002, rtt: 0.0005 }, address: '198.19.204.2', ipProtocol: 4, dnsLookupSeconds: 0.0001,
    icmp: { sent: 4, received: 3, duplicates: 1, loss: 0.25, replyHopLimit: 61, rtts: [0.0004, 0.0005, 0.0006],
      rtt: { min: 0.0004, median: 0.0005, mean: 0.0005, max: 0.0006, stddev: 0.00008 } },
  };
  const text = await renderProbe(result, module).metrics();
  for (const line of [
    'probe_icmp_duration_seconds{phase="resolve"} 0.0001',
    'probe_icmp_duration_seconds{phase="setup"} 0.00002',
    'probe_icmp_duration_seconds{phase="rtt"} 0.0005',
    'probe_icmp_reply_hop_limit 61',
    'probe_ip_protocol 4',
    'sonde_icmp_packet_loss_ratio 0.25',
    'sonde_icmp_duplicates 1',
    'sonde_icmp_rtt_seconds{stat="median"} 0.0005',
    'probe_success 1',
  ]) {
    assert.ok(text.includes(`${line}\n`), `missing: ${line}`);
  }
  assert.equal(typeof writeICMP, 'function');
});
