// The native engine on loopback: replies with kernel timestamps, argument checks at the N-API
// boundary, and a table that never lets a probe outlive its slot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binding } from '../../src/native/addon';
import { IcmpEngine, type IcmpOutcome } from '../../src/native/icmp';
import { privilegedTest } from '../lab/privileged';
import { waitFor } from '../lab/wait';

// A reply on loopback normally takes microseconds; the timeout only bounds a loaded machine.
function echo(e: IcmpEngine, addrs: string[], timeoutMs = 10_000, ttl?: number): Promise<IcmpOutcome[]> {
  const out: IcmpOutcome[] = [];
  return new Promise((resolve) => e.echo(addrs, { timeoutMs, ttl }, (i, o) => (o.kind === 'duplicate' ? undefined : (out[i] = o)), () => resolve(out)));
}

privilegedTest('echoes to loopback come back with kernel RX and TX timestamps, IPv4 and IPv6', async () => {
  const e = new IcmpEngine({ capacityLog2: 12 });
  try {
    assert.equal(e.privileged, true, 'root holds CAP_NET_RAW: raw sockets');
    assert.equal(e.capacity, 4096);
    const t0 = process.hrtime.bigint();
    const out = await echo(e, ['127.0.0.1', '::1', '127.0.0.2']);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const [i, from] of ['127.0.0.1', '::1', '127.0.0.2'].entries()) {
      assert.equal(out[i].kind, 'reply');
      assert.equal(out[i].from, from);
      // In seconds, and within the call: an RTT in another unit, or not from this echo, would not fit.
      assert.ok(out[i].rtt > 0 && out[i].rtt <= elapsed, `rtt ${out[i].rtt} s, echo() took ${elapsed} s`);
      assert.equal(out[i].kernelRx, true);
      assert.equal(out[i].kernelTx, true);
    }
    const c = e.counters();
    assert.equal(c.sent, 3);
    assert.equal(c.replies, 3);
  } finally {
    e.close();
  }
});

privilegedTest('more probes than table slots wait for free slots instead of failing or being dropped', async () => {
  const e = new IcmpEngine({ capacityLog2: 4 });
  try {
    const addrs = Array.from({ length: 100 }, (_, i) => `127.0.${i >> 8}.${(i & 0xff) + 1}`);
    // Each slot is held until its timeout (to catch duplicates), so 100 probes in 16 slots take
    // ceil(100/16) = 7 timeouts. The timeout is long enough that a loaded machine (sanitizer build,
    // busy cores: 50 ms lost 1 reply in 100 there) still gets every loopback reply in time.
    const timeoutMs = 1000;
    const started = Date.now();
    const out = await echo(e, addrs, timeoutMs);
    assert.equal(out.filter((o) => o.kind === 'reply').length, 100, JSON.stringify(out.filter((o) => o.kind !== 'reply')));
    assert.ok(Date.now() - started >= 6 * timeoutMs - 10, 'slots were reused only after their deadline');
    assert.ok(await waitFor(() => e.counters().inFlight === 0), 'every slot is freed once the last deadline passed');
  } finally {
    e.close();
  }
});

test('the native engine rejects malformed arguments with TypeError and RangeError', () => {
  const Ctor = binding.IcmpEngine as new (o: object, cb: unknown) => { send: (...a: unknown[]) => number; close(): void };
  assert.throws(() => new Ctor({}, 'not a function'), TypeError);
  assert.throws(() => new Ctor({ capacityLog2: 21 }, () => undefined), RangeError);
  assert.throws(() => new Ctor({ rate: -1 }, () => undefined), RangeError);
  let e;
  try {
    e = new Ctor({ capacityLog2: 4 }, () => undefined);
  } catch {
    return; // no ICMP socket for this user: the boundary checks above still ran
  }
  try {
    assert.throws(() => e.send(new Uint8Array(16), new Uint8Array(1), new Uint32Array(2), {}), RangeError);
    assert.throws(() => e.send(new Uint8Array(16), new Uint8Array([5]), new Uint32Array(1), {}), RangeError);
    assert.throws(() => e.send(new Uint8Array(16), new Uint8Array([4]), new Uint32Array(1), { ttl: 256 }), RangeError);
    assert.throws(() => e.send(new Uint8Array(16), new Uint8Array([4]), new Uint32Array(1), { payloadSize: 9000 }), RangeError);
    assert.throws(() => e.send([], new Uint8Array(1), new Uint32Array(1), {}), TypeError);
  } finally {
    e.close();
    e.close();
  }
});
