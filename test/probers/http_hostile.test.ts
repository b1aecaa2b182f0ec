// Hostile servers cannot hold a probe past its timeout, nor make sonde hold their body: body rules
// read a bounded window (http.body_rules_window), body_size_limit stops the read, and the event loop
// stays free meanwhile. Over both transports (scripts/test.sh runs this file with SONDE_FAST_PATH=0 too).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import type { HTTPModule } from '../../src/config/types';
import { hostileServer, type HostileServer } from '../lab/hostile_server';
import { httpModule, probe } from './http_lab';

let server: HostileServer;
before(async () => {
  server = await hostileServer();
});
after(() => server.close());

/** The longest gap between 20 ms ticks while fn runs: how long the event loop was held. */
async function maxStall<T>(fn: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 20);
  try {
    return { value: await fn(), stallMs };
  } finally {
    clearInterval(tick);
  }
}

const rules: Partial<HTTPModule> = { fail_if_body_matches_regexp: [/never in this body/] };
const cases: Array<{ description: string; path: string; over: Partial<HTTPModule>; reason: string }> = [
  { description: 'an endless body with a body rule', path: '/endless', over: rules, reason: 'timeout' },
  { description: 'a 4 GiB body with a body rule', path: '/4g', over: rules, reason: 'timeout' },
  { description: 'an endless gzip bomb with a body rule', path: '/gzip-bomb', over: { ...rules, compression: 'gzip' }, reason: 'timeout' },
  { description: 'an endless body without rules', path: '/endless', over: {}, reason: 'timeout' },
  { description: 'an endless body under body_size_limit', path: '/endless', over: { ...rules, body_size_limit: 1024 * 1024 }, reason: 'body_too_large' },
  { description: 'a gzip bomb under body_size_limit (decoded bytes)', path: '/gzip-bomb', over: { ...rules, compression: 'gzip', body_size_limit: 8 * 1024 * 1024 }, reason: 'body_too_large' },
];

for (const c of cases) {
  test(`${c.description}: ${c.reason} within the timeout, event loop free, memory back`, { timeout: 120_000 }, async () => {
    const timeout = 2;
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const { value: r, stallMs } = await maxStall(() => probe(`http://127.0.0.1:${server.port}${c.path}`, httpModule(c.over, timeout)));
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.success, false);
    assert.equal(r.reason, c.reason, r.message);
    // Bounds for a loaded 2-core machine, far below what unbounded reads took (a 5 s probe: 10.6 s, 5 s stalls, GBs).
    assert.ok(seconds < timeout + 0.5, `the ${timeout} s probe took ${seconds.toFixed(3)} s`);
    assert.ok(stallMs < 1000, `the event loop stalled ${stallMs.toFixed(0)} ms`);
    const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.ok(grown < 256, `RSS grew ${grown.toFixed(0)} MiB`);
  });
}

test('a body rule that backtracks for ever ends at the deadline without holding the event loop, and the next probe matches', { timeout: 120_000 }, async () => {
  const srv = http.createServer((_req, res) => res.end('a'.repeat(40)));
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  try {
    const t0 = performance.now();
    // (a|aa)+b against 40 a's: exponential backtracking (RE2 would not, JS RegExp does).
    const { value: r, stallMs } = await maxStall(() => probe(`http://127.0.0.1:${port}/`, httpModule({ fail_if_body_matches_regexp: [/(a|aa)+b/] }, 2)));
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.reason, 'timeout', r.message);
    assert.equal(r.message, 'the body rules did not finish before the deadline');
    assert.ok(seconds < 2.5, `the 2 s probe took ${seconds.toFixed(3)} s`);
    assert.ok(stallMs < 1000, `the event loop stalled ${stallMs.toFixed(0)} ms`);
    // The stuck worker was ended; a new one serves the next probe.
    const next = await probe(`http://127.0.0.1:${port}/`, httpModule({ fail_if_body_matches_regexp: [/a{40}/] }, 5));
    assert.equal(next.reason, 'regex_body', next.message);
  } finally {
    srv.close();
  }
});
