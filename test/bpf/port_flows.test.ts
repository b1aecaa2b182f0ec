// Port flows (the fast path's source ports) live in the mmapped port_flows array, not the flows hash:
// a drop on a registered port carries the flow's id, a slot taken over by a newer flow is not cleared
// by the older one, and a removed flow matches nothing. Loopback only: a SYN to a port nobody listens
// on is freed with NO_SOCKET (the kernel answers with RST), which the tracer sees without any lab.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before } from 'node:test';
import { BpfFlowRegistry } from '../../src/attribution/registry';
import { DropTracer } from '../../src/native/bpf';
import { StreamPool } from '../../src/native/stream';
import { isRoot, privilegedTest } from '../lab/privileged';

const pool = new StreamPool();

let tracer: DropTracer;
let registry: BpfFlowRegistry;
let closedPort: number;

before(async () => {
  if (!isRoot()) return;
  tracer = DropTracer.open({ localNetns: 'self' });
  registry = new BpfFlowRegistry(tracer);
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closedPort = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
});

after(() => {
  tracer?.stop();
  pool.close();
});

// Ports from the top of sonde's source range, away from what other tests of this process take.
async function refusedFrom(sourcePort: number): Promise<void> {
  const r = await pool.probe({ address: '127.0.0.1', port: closedPort, timeoutMs: 10_000, sourcePort });
  assert.equal(r.code, 'ECONNREFUSED');
  await registry.drain();
}

privilegedTest('a SYN from a registered port that is refused is a NO_SOCKET egress drop of that flow', async () => {
  const id = registry.addPortFlow('tcp', 32760);
  assert.ok(id > 0);
  await refusedFrom(32760);
  const got = registry.events(id).map((e) => ({ kind: e.kind, reason: e.reason, direction: e.direction, sport: e.sport, dport: e.dport }));
  assert.deepEqual(got, [{ kind: 'drop', reason: 'NO_SOCKET', direction: 'egress', sport: 32760, dport: closedPort }]);
  assert.equal(tracer.flowState(id)?.drops, 1);
  registry.remove(id);
  assert.equal(tracer.flowState(id), null, 'no state once removed');
  assert.equal(registry.events(id).length, 1, 'the ended flow keeps its events for explain()');
});

privilegedTest('a newer flow on the same port takes the slot over; removing the older one leaves it', async () => {
  const older = registry.addPortFlow('tcp', 32761);
  const newer = registry.addPortFlow('tcp', 32761);
  registry.remove(older);
  await refusedFrom(32761);
  assert.equal(registry.events(older).length, 0);
  assert.equal(registry.events(newer).length, 1);
  assert.equal(tracer.flowState(newer)?.drops, 1, 'counters start from zero for the newer flow');
  registry.remove(newer);
});

privilegedTest('a removed port flow matches nothing', async () => {
  const id = registry.addPortFlow('tcp', 32762);
  registry.remove(id);
  const before = tracer.activeFlows;
  await refusedFrom(32762);
  assert.equal(registry.events(id).length, 0);
  assert.equal(tracer.activeFlows, before);
});

// The kernel makes every page of a mapped BPF array resident at mmap: the 4 MiB array mapped whole
// was 4 MB of an idle daemon's RSS (issue 11), so it is mapped 16 KiB (512 slots) at a time.
function bpfMappings(): number[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('anon_inode:bpf-map'))
    .map((l) => {
      const [lo, hi] = l.split(' ')[0].split('-');
      return parseInt(hi, 16) - parseInt(lo, 16);
    });
}

privilegedTest('the array is mapped a window at a time, at the first use of a port in it', () => {
  assert.ok(!bpfMappings().includes(4 << 20), 'the whole array is never mapped');
  const windows = () => bpfMappings().filter((n) => n === 16384).length;
  const before = windows();
  // UDP 40000-40001: one window no other test of this file uses (TCP and UDP slots are apart).
  const a = registry.addPortFlow('udp', 40000);
  const b = registry.addPortFlow('udp', 40001);
  assert.equal(windows(), before + 1, 'one window for both ports');
  // 33279 and 33280: the last slot of one window and the first of the next (both unused here).
  const last = registry.addPortFlow('tcp', 33279);
  const first = registry.addPortFlow('tcp', 33280);
  assert.equal(windows(), before + 3);
  for (const id of [a, b, last, first]) assert.deepEqual(tracer.flowState(id), { xdpPackets: 0, xdpLastTime: 0, drops: 0 });
  for (const id of [a, b, last, first]) registry.remove(id);
  for (const id of [a, b, last, first]) assert.equal(tracer.flowState(id), null);
});
