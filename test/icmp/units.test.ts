// Pure pieces of the ICMP prober: address bytes, RTT statistics, `sonde ping` arguments, /probe series.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePingArgs } from '../../src/cli/ping';
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

test('rtt statistics: min, median (even and odd counts), mean, max, population stddev', () => {
  assert.equal(rttStats([]), undefined);
  const s = rttStats([0.003, 0.001, 0.002]);
  assert.deepEqual({ ...s, stddev: 0 }, { min: 0.001, median: 0.002, mean: 0.002, max: 0.003, stddev: 0 });
  assert.ok(Math.abs((s?.stddev ?? 0) - Math.sqrt(2 / 3) / 1000) < 1e-12);
  assert.equal(rttStats([4, 1, 3, 2])?.median, 2.5);
});

test('sonde ping arguments: counts, durations with units, and usage errors', () => {
  assert.deepEqual(parsePingArgs(['a', '-c', '5', '-i', '200ms', 'b', '--json']), { targets: ['a', 'b'], count: 5, interval: 0.2, timeout: 1, size: 56, json: true, explain: false });
  assert.equal(parsePingArgs(['a', '-i', '0.5']).interval, 0.5);
  for (const bad of [[], ['a', '-c'], ['a', '-c', '0'], ['a', '-i', 'x'], ['a', '--bogus'], ['a', '--ttl', '256']]) {
    assert.throws(() => parsePingArgs(bad), Error, JSON.stringify(bad));
  }
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
