// A SYN scan's silent ports and their verdicts, without privileges: the events of the scanner's
// shared source ports told apart by the remote pair, the ring of recent events read from the run's
// start, and the port flows registered once for every user of the range and removed after the last.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainSilentPairs, ScanFlows } from '../../src/attribution/scan_flows';
import type { BpfEvent, DropTracer } from '../../src/native/bpf';

const LOCAL = 4026531840;
const OTHER = 4026532999;
const PORTS = [61000, 61999] as const;
const nf = { reason: 'NETFILTER_DROP', location: 'nf_hook_slow+0x9a' };

function ev(over: Partial<BpfEvent>): BpfEvent {
  return {
    kind: 'drop', time: 10, flowId: 1, direction: 'egress', ifindex: 1, netns: LOCAL, family: 4, proto: 6,
    saddr: '198.18.241.1', daddr: '198.18.241.2', sport: 61005, dport: 22, wireTag: 0, len: 40,
    ...over,
  };
}

test('silent pairs: a SYN dropped leaving is matched by destination, a SYN-ACK dropped coming back by source', () => {
  const events = [
    ev({ ...nf, daddr: '198.18.241.2', dport: 22 }), // the SYN to :22, dropped on output
    ev({ ...nf, direction: 'ingress', saddr: '198.18.241.3', sport: 443, daddr: '198.18.241.1', dport: 61005 }), // a SYN-ACK from .3:443
    ev({ ...nf, netns: OTHER, daddr: '198.18.241.2', dport: 25 }), // dropped inside another namespace
  ];
  const got = explainSilentPairs(
    events,
    PORTS,
    [
      { address: '198.18.241.2', port: 22 },
      { address: '198.18.241.3', port: 443 },
      { address: '198.18.241.2', port: 25 },
      { address: '198.18.241.2', port: 443 }, // same port as the SYN-ACK's, other host: not its events
    ],
    { available: true, localNetns: LOCAL },
  );
  assert.deepEqual(
    got.map((a) => [a.address, a.port, a.verdict, a.reason, a.direction]),
    [
      ['198.18.241.2', 22, 'local_drop', 'NETFILTER_DROP', 'egress'],
      ['198.18.241.3', 443, 'local_drop', 'NETFILTER_DROP', 'ingress'],
      ['198.18.241.2', 25, 'path_loss', undefined, undefined],
      ['198.18.241.2', 443, 'path_loss', undefined, undefined],
    ],
  );
  const none = explainSilentPairs(events, PORTS, [{ address: '198.18.241.2', port: 22 }], { available: false, localNetns: LOCAL });
  assert.deepEqual(none, [{ verdict: 'unknown', address: '198.18.241.2', port: 22 }]);
});

function fakeTracer(): { tracer: DropTracer; added: number[]; removed: number[] } {
  const added: number[] = [];
  const removed: number[] = [];
  const tracer = {
    addPortFlow: (proto: string, port: number) => {
      assert.equal(proto, 'tcp');
      added.push(port);
      return port === 61002 ? 0 : port + 100_000; // one port the map refuses
    },
    removeFlow: (id: number) => void removed.push(id),
  } as unknown as DropTracer;
  return { tracer, added, removed };
}

test('scan ports are registered once for all users of the range, and removed after the last', () => {
  const { tracer, added, removed } = fakeTracer();
  const flows = new ScanFlows(tracer);
  const a = flows.watch([61000, 61003]);
  const b = flows.watch([61000, 61003]);
  assert.deepEqual(added, [61000, 61001, 61002, 61003]);
  assert.ok(b.since >= a.since && a.since > 0);
  a.done();
  a.done(); // twice is once
  assert.deepEqual(removed, []);
  b.done();
  assert.deepEqual(removed, [161000, 161001, 161003]);
  assert.equal(flows.collect(ev({ flowId: 161000 })), false, 'no longer a scan flow');
});

test('events of scan ports are kept in a bounded ring, and a run reads only those since it began', () => {
  const { tracer } = fakeTracer();
  const flows = new ScanFlows(tracer, 4);
  flows.watch(PORTS);
  assert.equal(flows.collect(ev({ flowId: 7 })), false, 'not a scan port: the registry keeps it elsewhere');
  for (let t = 1; t <= 6; t++) assert.ok(flows.collect(ev({ ...nf, flowId: 161005, time: t, dport: t })));
  const silent = [1, 2, 3, 4, 5, 6].map((port) => ({ address: '198.18.241.2', port }));
  const verdicts = (since: number) => flows.explain(PORTS, silent, since, LOCAL).map((x) => x.verdict);
  // Ring of 4: the two oldest events are gone (their ports read as path_loss).
  assert.deepEqual(verdicts(0), ['path_loss', 'path_loss', 'local_drop', 'local_drop', 'local_drop', 'local_drop']);
  assert.deepEqual(verdicts(5), ['path_loss', 'path_loss', 'path_loss', 'path_loss', 'local_drop', 'local_drop']);
  const off = new ScanFlows(null);
  const w = off.watch(PORTS);
  w.done();
  assert.deepEqual(
    off.explain(PORTS, silent.slice(0, 1), 0, LOCAL).map((x) => x.verdict),
    ['unknown'],
  );
});
