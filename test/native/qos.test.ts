// QoS classes at the stream engine's door (src/native/qos.ts, native/common/qos.h): a flood of
// best_effort probes holds its share of the slots and no more, waits in its class's queue up to the
// bound, is shed past it (phase 'shed', counted), and critical and /probe work still runs. Every
// wait here is for a result or a counter, never for a time: the probes of the flood go to a
// loopback server that reads the request and never answers, so they hold their slots until
// cancelled, however slow the machine.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { StreamPool, type StreamResult } from '../../src/native/stream';
import type { EngineClass } from '../../src/native/qos';
import { requestBytes } from '../../src/probers/http/wire';
import { waitFor } from '../lab/wait';
import { cannedHttp, close } from './stream_servers';

const servers: net.Server[] = [];
after(() => Promise.all(servers.map(close)));

const HOUR = 3_600_000;
const get = requestBytes('GET', '/', '127.0.0.1', { 'user-agent': 'sonde-test' });

/** A probe owner as the probe context is: its class, and a way to cancel the probe. */
function owner(qos: EngineClass): { qos: EngineClass; cancel?: () => void; cancellable(c: () => void): void } {
  return {
    qos,
    cancellable(c) {
      this.cancel = c;
    },
  };
}

test('a best_effort flood takes its share and is shed past its queue; critical and /probe work still runs', async () => {
  const silent = await cannedHttp(() => null);
  const ok = await cannedHttp(() => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
  servers.push(silent.server, ok.server);
  // 8 slots: best_effort at most 4, standard and best_effort together at most 6.
  const pool = new StreamPool({ capacity: 8, qos: { bestEffortShare: 0.5, standardShare: 0.75, queueBound: 16 } });
  try {
    const flood = Array.from({ length: 100 }, () => owner('best_effort'));
    const floodResults = flood.map((o) => pool.probe({ address: '127.0.0.1', port: silent.port, timeoutMs: HOUR, request: get }, o));
    const settled: (StreamResult | undefined)[] = new Array(flood.length);
    floodResults.forEach((p, i) => void p.then((r) => (settled[i] = r)));
    // 4 hold slots, 16 wait, 80 are shed at once.
    assert.ok(await waitFor(() => settled.filter((r) => r?.phase === 'shed').length === 80, 60_000), 'the 80 past the bound come back shed');
    for (const r of settled.filter((x) => x !== undefined)) {
      assert.equal(r.code, 'ENOBUFS');
      assert.equal(r.phase, 'shed');
    }
    const c = () => pool.classCountersIfStarted()!;
    assert.ok(await waitFor(() => c().best_effort.held === 4 && c().best_effort.waiting === 16, 60_000), JSON.stringify(c().best_effort));
    assert.equal(c().best_effort.shed, 80);

    // Standard work gets what its share leaves (2 slots); critical and /probe work the rest, at once.
    const std = Array.from({ length: 3 }, () => owner('standard'));
    const stdResults = std.map((o) => pool.probe({ address: '127.0.0.1', port: silent.port, timeoutMs: HOUR, request: get }, o));
    assert.ok(await waitFor(() => c().standard.held === 2 && c().standard.waiting === 1, 60_000), JSON.stringify(c().standard));
    for (const qos of ['critical', 'probe', 'critical', 'probe'] as const) {
      const r = await pool.probe({ address: '127.0.0.1', port: ok.port, timeoutMs: HOUR, request: get }, owner(qos));
      assert.equal(r.errno, 0, r.code);
      assert.equal(r.statusCode, 200);
    }
    assert.equal(c().critical.started, 2);
    assert.equal(c().probe.started, 2);
    assert.equal(c().critical.shed + c().probe.shed, 0);
    // The flood never got past its share meanwhile.
    assert.equal(c().best_effort.held, 4);
    assert.equal(c().best_effort.started, 4);

    // Cancelled, every probe of the flood has exactly one result.
    for (const o of [...flood, ...std]) o.cancel?.();
    const all = await Promise.all([...floodResults, ...stdResults]);
    assert.equal(all.filter((r) => r.phase === 'shed').length, 80);
    assert.equal(all.filter((r) => r.code === 'ECANCELED').length, 20 + 3);
    assert.ok(await waitFor(() => c().best_effort.held === 0 && c().standard.held === 0, 60_000));
  } finally {
    pool.close();
  }
});

test('new shares apply to a running engine (a reload)', async () => {
  const silent = await cannedHttp(() => null);
  servers.push(silent.server);
  const pool = new StreamPool({ capacity: 10, qos: { bestEffortShare: 0.2, standardShare: 0.5, queueBound: 100 } });
  try {
    const flood = Array.from({ length: 10 }, () => owner('best_effort'));
    const results = flood.map((o) => pool.probe({ address: '127.0.0.1', port: silent.port, timeoutMs: HOUR, request: get }, o));
    const c = () => pool.classCountersIfStarted()!.best_effort;
    assert.ok(await waitFor(() => c().held === 2 && c().waiting === 8, 60_000), JSON.stringify(c()));
    // Slots held stay held; the new share lets more start at the engine's next turn.
    pool.setQos({ bestEffortShare: 0.6, standardShare: 0.8, queueBound: 100 });
    const more = owner('best_effort');
    results.push(pool.probe({ address: '127.0.0.1', port: silent.port, timeoutMs: HOUR, request: get }, more));
    flood.push(more);
    assert.ok(await waitFor(() => c().held === 6 && c().waiting === 5, 60_000), JSON.stringify(c()));
    for (const o of flood) o.cancel?.();
    assert.equal((await Promise.all(results)).filter((r) => r.code === 'ECANCELED').length, 11);
  } finally {
    pool.close();
  }
});

test('a probe without a class is critical, as before classes existed; bad limits are refused by name', async () => {
  const ok = await cannedHttp(() => 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
  servers.push(ok.server);
  const pool = new StreamPool({ capacity: 4 });
  try {
    const r = await pool.probe({ address: '127.0.0.1', port: ok.port, timeoutMs: HOUR, request: get });
    assert.equal(r.statusCode, 204);
    assert.equal(pool.classCountersIfStarted()!.critical.started, 1);
    assert.throws(() => pool.setQos({ bestEffortShare: 0, standardShare: 0.5, queueBound: 1 }), /options\.qos\.bestEffortShare must be a number in \(0, 1\]/);
    assert.throws(() => pool.setQos({ bestEffortShare: 0.9, standardShare: 0.5, queueBound: 1 }), /bestEffortShare must not exceed options\.qos\.standardShare/);
  } finally {
    pool.close();
  }
});
