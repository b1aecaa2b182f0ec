// The TypeScript side of the SYN engine (src/native/syn.ts) against a fake native engine: batches
// become hits per run with nmap's reason names, a run's summary resolves `done` after its hits,
// stop() and progress() reach the native run, close() ends pending runs, errors are typed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NativeSynEngineImpl, reasonName, SynScanError, type NativeSynBatch, type NativeSynEngine, type NativeSynSpec } from '../../src/native/syn';
import { synSourcePorts } from '../../src/native/syn_flows';
import type { ScanHit, ScanProgress } from '../../src/native/syn_types';

class Fake implements NativeSynEngine {
  static last: Fake;
  specs: NativeSynSpec[] = [];
  stopped: number[] = [];
  refs = 0;
  closed = false;
  progressOf = new Map<number, ScanProgress>();
  constructor(readonly onBatch: (b: NativeSynBatch) => void) {
    Fake.last = this;
  }
  start(spec: NativeSynSpec): number {
    if (spec.rate <= 0) throw Object.assign(new Error('scan: rate must be positive'), { code: 'ERR_SONDE_SYN_SPEC' });
    this.specs.push(spec);
    return this.specs.length;
  }
  stopRun(id: number): void {
    this.stopped.push(id);
  }
  progress(id: number): ScanProgress | undefined {
    return this.progressOf.get(id);
  }
  ref(): void {
    this.refs++;
  }
  unref(): void {
    this.refs--;
  }
  close(): void {
    this.closed = true;
  }
}

const P: ScanProgress = { sent: 3, refused: 0, total: 3, received: 3, validated: 3, foreign: 0, duplicates: 0, open: 1, closed: 1, filtered: 1 };

function batch(rows: { run: number; family: 4 | 6; addr: number[]; port: number; state: number; reason: number; code?: number; ttl?: number; rtt?: number }[], done: NativeSynBatch['done'] = []): NativeSynBatch {
  const n = rows.length;
  const b: NativeSynBatch = {
    length: n,
    run: new Uint32Array(n),
    family: new Uint8Array(n),
    state: new Uint8Array(n),
    reason: new Uint8Array(n),
    code: new Uint8Array(n),
    ttl: new Uint8Array(n),
    port: new Uint16Array(n),
    addr: new Uint8Array(16 * n),
    rtt: new Float64Array(n),
    done,
  };
  rows.forEach((r, i) => {
    b.run[i] = r.run;
    b.family[i] = r.family;
    b.state[i] = r.state;
    b.reason[i] = r.reason;
    b.code[i] = r.code ?? 0;
    b.ttl[i] = r.ttl ?? 0;
    b.port[i] = r.port;
    b.addr.set(r.addr, i * 16);
    b.rtt[i] = r.rtt ?? -1;
  });
  return b;
}

test('batches become hits of their run, with reasons, ICMP codes, TTL and RTT; done resolves after them', async () => {
  const e = new NativeSynEngineImpl(Fake as never);
  const fake = Fake.last;
  const a: ScanHit[] = [];
  const b: ScanHit[] = [];
  const ha = e.scan({ runs: [{ family: 4, first: '198.18.0.1', count: 1 }], ports: [[22, 22], [80, 81]], rate: 100, shard: { index: 1, count: 3 }, seed: 7n }, { onHits: (h) => a.push(...h) });
  const hb = e.scan({ runs: [{ family: 6, first: 'fd5e:ed00::1', count: 2 }], ports: [[443, 443]], rate: 5 }, { onHits: (h) => b.push(...h) });
  assert.equal(fake.refs, 0, 'the engine holds the event loop while runs are pending (ref once, from unref)');
  assert.deepEqual(fake.specs[0], {
    runs: [{ family: 4, first: '198.18.0.1', count: 1 }],
    ports: [[22, 22], [80, 81]],
    rate: 100,
    retries: undefined,
    waitMs: undefined,
    shardIndex: 1,
    shardCount: 3,
    seed: 7n,
    source4: undefined,
    source6: undefined,
    sourcePorts: undefined,
    maxRuntimeMs: undefined,
    allStates: undefined,
  });
  const v6 = [0xfd, 0x5e, 0xed, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
  fake.onBatch(
    batch([
      { run: 1, family: 4, addr: [198, 18, 0, 1], port: 22, state: 0, reason: 0, ttl: 64, rtt: 0.002 },
      { run: 2, family: 6, addr: v6, port: 443, state: 2, reason: 3, code: 1, ttl: 63, rtt: 0.001 },
      { run: 1, family: 4, addr: [198, 18, 0, 1], port: 80, state: 2, reason: 2 },
      { run: 9, family: 4, addr: [198, 18, 0, 1], port: 81, state: 1, reason: 1 },
    ]),
  );
  assert.deepEqual(a, [
    { address: '198.18.0.1', port: 22, state: 'open', reason: 'syn-ack', ttl: 64, rtt: 0.002 },
    { address: '198.18.0.1', port: 80, state: 'filtered', reason: 'no-response' },
  ]);
  assert.deepEqual(b, [{ address: 'fd5e:ed00::2', port: 443, state: 'filtered', reason: 'admin-prohibited', icmpCode: 1, ttl: 63, rtt: 0.001 }]);
  fake.progressOf.set(2, P);
  assert.deepEqual(hb.progress(), P);
  hb.stop();
  assert.deepEqual(fake.stopped, [2]);
  fake.onBatch(batch([], [{ run: 1, ...P, seconds: 1.5, packetsPerSecond: 2, truncated: false }]));
  const sa = await ha.done;
  assert.equal(sa.seconds, 1.5);
  assert.equal((sa as unknown as { run?: number }).run, undefined);
  assert.deepEqual(ha.progress(), P, 'after the end, progress is the summary counters');
  // A hit of a run that ended is dropped.
  fake.onBatch(batch([{ run: 1, family: 4, addr: [198, 18, 0, 1], port: 81, state: 1, reason: 1 }]));
  assert.equal(a.length, 2);
  e.close();
  const sb = await hb.done;
  assert.equal(sb.truncated, true);
  assert.equal(sb.sent, 3);
  assert.equal(fake.closed, true);
  assert.throws(() => e.scan({ runs: [], ports: [], rate: 1 }, { onHits: () => undefined }), SynScanError);
});

test('a refused spec is a SynScanError with the engine code', () => {
  const e = new NativeSynEngineImpl(Fake as never);
  assert.throws(
    () => e.scan({ runs: [{ family: 4, first: '198.18.0.1', count: 1 }], ports: [[1, 1]], rate: 0 }, { onHits: () => undefined }),
    (err: unknown) => err instanceof SynScanError && err.code === 'ERR_SONDE_SYN_SPEC' && /rate/.test(err.message),
  );
  e.close();
});

test('reason names follow nmap for every filtering ICMP code', () => {
  assert.deepEqual([0, 1, 2, 3, 9, 10, 13].map((c) => reasonName(3, 4, c)), ['net-unreach', 'host-unreach', 'proto-unreach', 'port-unreach', 'net-prohibited', 'host-prohibited', 'admin-prohibited']);
  assert.equal(reasonName(3, 6, 4), 'port-unreach');
  assert.equal(reasonName(3, 6, 1), 'admin-prohibited');
  assert.equal(reasonName(0, 4, 0), 'syn-ack');
  assert.equal(reasonName(1, 6, 0), 'reset');
  assert.equal(reasonName(2, 4, 0), 'no-response');
});

test('the scan source ports: the spec\'s own range, else the engine\'s default of 1,000 ports', () => {
  assert.deepEqual(synSourcePorts({ sourcePorts: [50, 60] }), [50, 60]);
  assert.deepEqual(synSourcePorts({}, () => [61000, 61999]), [61000, 61999]);
  const [lo, hi] = synSourcePorts({});
  assert.ok(lo >= 1 && hi - lo === 999, `default ${lo}-${hi}`);
});
