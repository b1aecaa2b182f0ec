// The loss classifier's rules, without privileges: a table of evidence and the verdict it must give.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyLoss, xdpSawReplyBeforeDrop } from '../../src/attribution/classify';
import type { BpfEvent, SeenRecord } from '../../src/native/bpf';
import type { Attribution } from '../../src/result';

const LOCAL = 4026531840;
const OTHER = 4026532999;

function ev(over: Partial<BpfEvent>): BpfEvent {
  return {
    kind: 'drop', time: 1, flowId: 1, direction: 'ingress', ifindex: 7, netns: LOCAL, family: 4, proto: 17,
    saddr: '198.19.241.2', daddr: '198.19.240.1', sport: 7, dport: 40000, wireTag: 0, len: 40,
    ...over,
  };
}

const nf = { reason: 'NETFILTER_DROP', location: 'nf_hook_slow+0x9a' };

const cases: Array<{ desc: string; available?: boolean; drained?: boolean; events: BpfEvent[]; seq?: number; seen?: SeenRecord; want: Attribution }> = [
  { desc: 'no eBPF: unknown, whatever the events', available: false, events: [ev(nf)], want: { verdict: 'unknown' } },
  { desc: 'nothing seen at all: the path lost it', events: [], want: { verdict: 'path_loss' } },
  {
    desc: 'a local ingress drop after XDP saw the reply: local_drop with reason, location, ifindex',
    events: [ev({ kind: 'xdp', time: 1 }), ev({ ...nf, time: 2 })],
    want: { verdict: 'local_drop', reason: 'NETFILTER_DROP', location: 'nf_hook_slow+0x9a', direction: 'ingress', ifindex: 7 },
  },
  {
    desc: 'the first local drop wins (the egress drop of the request)',
    events: [ev({ reason: 'NO_SOCKET', location: 'x+0x1', time: 5 }), ev({ ...nf, direction: 'egress', ifindex: 0, time: 3 })],
    want: { verdict: 'local_drop', reason: 'NETFILTER_DROP', location: 'nf_hook_slow+0x9a', direction: 'egress', ifindex: 0 },
  },
  { desc: 'the ring not read up to now in time: no drop seen proves nothing, unknown', drained: false, events: [], want: { verdict: 'unknown' } },
  {
    desc: 'the ring not read up to now in time, but a drop was read: local_drop',
    drained: false,
    events: [ev(nf)],
    want: { verdict: 'local_drop', reason: 'NETFILTER_DROP', location: 'nf_hook_slow+0x9a', direction: 'ingress', ifindex: 7 },
  },
  { desc: 'a drop in another netns (a router) is not local: path_loss', events: [ev({ ...nf, netns: OTHER })], want: { verdict: 'path_loss' } },
  { desc: 'the reply reached the NIC but no drop was seen: unknown', events: [ev({ kind: 'xdp' })], want: { verdict: 'unknown' } },
  { desc: 'the seen map says the reply reached the NIC, no drop: unknown', events: [], seen: { firstTime: 1, lastTime: 1, packets: 1 }, want: { verdict: 'unknown' } },
  {
    desc: 'a local drop wins over the seen map',
    events: [ev({ ...nf, time: 2 })],
    seen: { firstTime: 1, lastTime: 1, packets: 1 },
    want: { verdict: 'local_drop', reason: 'NETFILTER_DROP', location: 'nf_hook_slow+0x9a', direction: 'ingress', ifindex: 7 },
  },
  {
    desc: 'ICMP: only the lost sequence’s events count',
    seq: 2,
    events: [ev({ ...nf, proto: 1, icmpSeq: 1 }), ev({ kind: 'xdp', proto: 1, icmpSeq: 3 })],
    want: { seq: 2, verdict: 'path_loss' },
  },
  {
    desc: 'ICMP: a drop of that sequence is a local drop with its seq',
    seq: 3,
    events: [ev({ ...nf, proto: 1, icmpSeq: 3 })],
    want: { seq: 3, verdict: 'local_drop', reason: 'NETFILTER_DROP', location: 'nf_hook_slow+0x9a', direction: 'ingress', ifindex: 7 },
  },
  {
    desc: 'an unknown direction is left out',
    events: [ev({ ...nf, direction: 'unknown' })],
    want: { verdict: 'local_drop', reason: 'NETFILTER_DROP', location: 'nf_hook_slow+0x9a', ifindex: 7 },
  },
];

for (const c of cases) {
  test(`classifyLoss: ${c.desc}`, () => {
    assert.deepEqual(classifyLoss({ available: c.available ?? true, drained: c.drained, localNetns: LOCAL, events: c.events, seq: c.seq, seen: c.seen }), c.want);
  });
}

test('xdpSawReplyBeforeDrop is true only when XDP saw the reply before the ingress drop', () => {
  assert.equal(xdpSawReplyBeforeDrop([ev({ kind: 'xdp', time: 1 }), ev({ time: 2 })]), true);
  assert.equal(xdpSawReplyBeforeDrop([ev({ kind: 'xdp', time: 3 }), ev({ time: 2 })]), false);
  assert.equal(xdpSawReplyBeforeDrop([ev({ time: 2 })]), false);
});

test('xdpSawReplyBeforeDrop compares the seen map\'s first timestamp with the drop events', () => {
  const seen = (t: number): SeenRecord => ({ firstTime: t, lastTime: t + 5, packets: 2 });
  assert.equal(xdpSawReplyBeforeDrop([ev({ time: 2 })], undefined, seen(1)), true);
  assert.equal(xdpSawReplyBeforeDrop([ev({ time: 2 })], undefined, seen(3)), false);
  assert.equal(xdpSawReplyBeforeDrop([], undefined, seen(1)), false, 'no drop: nothing to be first to');
});
