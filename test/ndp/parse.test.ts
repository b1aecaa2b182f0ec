// The native RA parser through its binding, and the report built from what it returns:
// routers keyed by source, invalid RAs listed with their reason, SLAAC only where a host forms it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRouterAdvert, type DiscoverOutcome, type LinkInfo, type NativeAdvert } from '../../src/native/ndp';
import { buildReport } from '../../src/ndp/report';

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

function ip(prefix: number[]): number[] {
  return [...prefix, ...Array<number>(16 - prefix.length).fill(0)];
}

// hop limit 64, O flag, preference low (11), lifetime 600; SLLA, one PIO, MTU, RDNSS, DNSSL.
const RA = Uint8Array.from([
  134, 0, 0, 0, 64, 0x40 | 0x18, 0x02, 0x58, ...u32(0), ...u32(0),
  1, 1, 0x02, 0, 0, 0, 0, 0x01,
  3, 4, 64, 0xc0, ...u32(3600), ...u32(1800), ...u32(0), ...ip([0xfd, 0x5e, 0xed, 0, 0, 0x10]),
  5, 1, 0, 0, ...u32(1280),
  25, 3, 0, 0, ...u32(300), ...ip([0xfd, 0x5e, 0xed, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x35]),
  31, 2, 0, 0, ...u32(300), 3, 'l'.charCodeAt(0), 'a'.charCodeAt(0), 'b'.charCodeAt(0), 0, 0, 0, 0,
]);

test('the native parser returns every field of a Router Advertisement', () => {
  const { status, ra } = parseRouterAdvert(RA);
  assert.equal(status, 'ok');
  assert.deepEqual(ra, {
    curHopLimit: 64, managed: false, other: true, homeAgent: false, proxy: false, preference: 'low',
    routerLifetime: 600, reachableTime: 0, retransTimer: 0, mtu: 1280, sourceLladdr: '02:00:00:00:00:01',
    prefixes: [{ prefix: 'fd5e:ed00:10::', length: 64, onLink: true, autonomous: true, validLifetime: 3600, preferredLifetime: 1800 }],
    routes: [], rdnss: [{ servers: ['fd5e:ed00:10::35'], lifetime: 300 }], dnssl: [{ domains: ['lab'], lifetime: 300 }],
    unknownOptions: [], ignoredOptions: 0,
  } satisfies NativeAdvert);
});

test('the parser rejects what RFC 4861 §6.1.2 says to discard', () => {
  const cases: { desc: string; bytes: Uint8Array; status: string }[] = [
    { desc: 'shorter than the 16-byte header', bytes: RA.subarray(0, 12), status: 'too_short' },
    { desc: 'a Router Solicitation', bytes: Uint8Array.from([133, ...RA.subarray(1)]), status: 'not_router_advertisement' },
    { desc: 'non-zero code', bytes: Uint8Array.from([134, 1, ...RA.subarray(2)]), status: 'bad_code' },
    { desc: 'an option cut short', bytes: RA.subarray(0, RA.length - 3), status: 'truncated_option' },
    { desc: 'an option of length 0', bytes: Uint8Array.from([...RA.subarray(0, 16), 1, 0, 0, 0, 0, 0, 0, 0]), status: 'zero_length_option' },
  ];
  for (const c of cases) {
    const r = parseRouterAdvert(c.bytes);
    assert.equal(r.status, c.status, c.desc);
    assert.equal(r.ra, null, c.desc);
  }
});

test('the report keeps the latest valid RA per router and lists the rejected ones with reasons', () => {
  const ra = parseRouterAdvert(RA).ra!;
  const noAuto = { ...ra, prefixes: [{ ...ra.prefixes[0], autonomous: false }, { ...ra.prefixes[0], prefix: 'fd5e:ed00:20::', length: 56 }] };
  const outcome: DiscoverOutcome = {
    error: null,
    source: 'fe80::1',
    solicitations: 1,
    received: [
      { source: 'fe80::a', hopLimit: 255, atMs: 1, parse: 'ok', envelope: 'ok', ra: { ...ra, routerLifetime: 1 } },
      { source: 'fe80::a', hopLimit: 255, atMs: 2, parse: 'ok', envelope: 'ok', ra },
      { source: 'fe80::b', hopLimit: 255, atMs: 3, parse: 'ok', envelope: 'ok', ra: noAuto },
      { source: 'fe80::c', hopLimit: 64, atMs: 4, parse: 'ok', envelope: 'hop_limit_not_255', ra },
      { source: 'fe80::d', hopLimit: 255, atMs: 5, parse: 'zero_length_option', envelope: 'ok', ra: null },
    ],
  };
  const link: LinkInfo = { index: 2, hwType: 1, hwAddr: Buffer.from('6af24ee6ea21', 'hex'), permAddr: Buffer.alloc(6), devId: 0 };
  const secret = { source: 'test', bytes: new Uint8Array(16), note: 'fixed key' };
  const report = buildReport('eth0', link, outcome, secret);
  assert.deepEqual(report.routers.map((r) => [r.address, r.lifetime, r.adverts]), [['fe80::a', 600, 2], ['fe80::b', 600, 1]]);
  assert.equal(report.routers[0].prefixes[0].slaac?.eui64, 'fd5e:ed00:10:0:68f2:4eff:fee6:ea21');
  assert.match(report.routers[0].prefixes[0].slaac?.stable_privacy ?? '', /^fd5e:ed00:10:0:/);
  assert.deepEqual(report.routers[1].prefixes.map((p) => [p.slaac, p.slaac_skipped]), [
    [null, 'not autonomous (A=0)'],
    [null, 'prefix length 56 leaves no 64-bit interface identifier'],
  ]);
  assert.deepEqual(report.rejected, [
    { address: 'fe80::c', hop_limit: 64, reason: 'hop_limit_not_255' },
    { address: 'fe80::d', hop_limit: 255, reason: 'zero_length_option' },
  ]);
});
