// The /probe timeout as blackbox_exporter computes it (module timeout, scrape header minus
// --timeout-offset), and bounded: a client cannot make a probe run for days (issue 14), and a
// header too large for a 32-bit integer neither wraps nor overflows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { probeTimeout } from '../../src/api/probe_params';
import type { Module } from '../../src/config/types';

const limits = { timeoutOffsetSeconds: 0.5, maxTimeoutSeconds: 120 };
const mod = (timeout: number) => ({ timeout }) as unknown as Module;

test('blackbox rules: the module timeout when shorter, else the scrape timeout minus the offset', () => {
  assert.equal(probeTimeout(mod(5), '10', limits), 5);
  assert.equal(probeTimeout(mod(5), '3', limits), 2.5);
  assert.equal(probeTimeout(mod(0), '10', limits), 9.5);
  assert.equal(probeTimeout(mod(0), undefined, limits), 119.5, 'no header: blackbox assumes 120 s');
  assert.equal(probeTimeout(mod(0), '10', { ...limits, timeoutOffsetSeconds: 2 }), 8, '--timeout-offset');
  assert.equal(probeTimeout(mod(0), '0.2', limits), 0.001, 'a header below the offset leaves a minimal budget, as blackbox');
});

test('a client-supplied timeout is capped by the daemon maximum, whatever its size', () => {
  assert.equal(probeTimeout(mod(0), '300', limits), 120);
  assert.equal(probeTimeout(mod(0), '4294968', limits), 120, 'a value that wraps a uint32 in milliseconds');
  assert.equal(probeTimeout(mod(0), '5000000', limits), 120, 'eight days');
  assert.equal(probeTimeout(mod(0), '1e300', limits), 120);
  assert.equal(probeTimeout(mod(300), '1000', limits), 120, 'the module timeout is capped too');
  assert.equal(probeTimeout(mod(0), '300', { ...limits, maxTimeoutSeconds: 30 }), 30);
});

test('a malformed header is an error naming it', () => {
  for (const h of ['abc', '-1', '0', 'Infinity', 'NaN']) {
    const r = probeTimeout(mod(5), h, limits);
    assert.equal(typeof r, 'string', h);
    assert.match(r as string, /Failed to parse timeout from Prometheus header/);
  }
});
