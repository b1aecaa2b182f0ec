// The one FNV-1a (src/util/fnv.ts) and the one address parser behind blackbox's probe_ip_addr_hash
// (src/native/ipaddr.ts goIPBytes): known vectors, and the address forms Go's net.IP folds together.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goIPBytes } from '../../src/native/ipaddr';
import { ipAddrHash } from '../../src/outputs/blackbox/common';
import { fnv32a } from '../../src/util/fnv';

test('fnv32a matches the reference vectors (draft-eastlake-fnv), for text and bytes alike', () => {
  const cases: Array<[string, number]> = [
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ];
  for (const [text, want] of cases) {
    assert.equal(fnv32a(text), want, JSON.stringify(text));
    assert.equal(fnv32a(Buffer.from(text, 'utf8')), want, `${JSON.stringify(text)} as bytes`);
  }
});

test('goIPBytes gives Go To4() bytes: 4 for IPv4 and IPv4-mapped IPv6, 16 otherwise, zone dropped', () => {
  const cases: Array<{ address: string; hex: string | undefined }> = [
    { address: '127.0.0.1', hex: '7f000001' },
    { address: '::ffff:127.0.0.1', hex: '7f000001' },
    { address: '::1', hex: '00000000000000000000000000000001' },
    { address: 'fe80::1%eth0', hex: 'fe800000000000000000000000000001' },
    { address: '2001:db8::ffff:1.2.3.4', hex: '20010db8000000000000ffff01020304' },
    { address: 'example.test', hex: undefined },
  ];
  for (const c of cases) {
    const b = goIPBytes(c.address);
    assert.equal(b === undefined ? undefined : Buffer.from(b).toString('hex'), c.hex, c.address);
  }
});

test('probe_ip_addr_hash is FNV-1a of those bytes, as blackbox_exporter 0.23 reports it', () => {
  assert.equal(ipAddrHash('127.0.0.1'), 3668918509);
  assert.equal(ipAddrHash('::ffff:127.0.0.1'), 3668918509);
  assert.equal(ipAddrHash('::1'), 1751717746);
  assert.equal(ipAddrHash('fe80::1%eth0'), ipAddrHash('fe80::1'));
});
