// Targets as `sonde scan` takes them (addresses, CIDRs v4 and v6, ranges, host names through the
// project's resolver, files), excludes in masscan's file format, and the allow list: what is left
// becomes the engine's AddressRun[], and anything outside scan.allow refuses the scan, named.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DualSet, parseAddressSpec, AddressSyntaxError } from '../../src/scan/addrset';
import { parseSpecText, readSpecFile, SpecFileError } from '../../src/scan/spec_file';
import { planTargets, resolveTargetSpecs, ScanRefusal, type TargetEntry } from '../../src/scan/targets';
import type { Resolver } from '../../src/probers/resolve';
import { HostsFile, localNames } from '../../src/probers/hosts_file';

const LAB_ALLOW = ['198.18.0.0/15', 'fd5e:ed00::/32', '127.0.0.0/8', '::1/128'];
const cmd = (...specs: string[]) => specs.map((spec) => ({ spec, origin: 'command line' }));

async function plan(targets: string[], excludes: string[] = [], allow = LAB_ALLOW) {
  const entries: TargetEntry[] = await resolveTargetSpecs(cmd(...targets));
  return planTargets(entries, DualSet.from(excludes), DualSet.from(allow), allow);
}

test('address specs: single addresses, CIDRs (host bits ignored), ranges, v4 and v6', () => {
  const cases: Array<[string, 4 | 6, bigint]> = [
    ['198.18.0.1', 4, 1n],
    ['198.18.0.0/24', 4, 256n],
    ['198.18.0.77/24', 4, 256n],
    ['198.18.0.1-198.18.0.200', 4, 200n],
    ['0.0.0.0/0', 4, 2n ** 32n],
    ['fd5e:ed00::1', 6, 1n],
    ['fd5e:ed00::/120', 6, 256n],
    ['fd5e:ed00::/64', 6, 2n ** 64n],
    ['fd5e:ed00::1-fd5e:ed00::10', 6, 16n],
  ];
  for (const [spec, family, size] of cases) {
    const p = parseAddressSpec(spec);
    assert.equal(p.family, family, spec);
    assert.equal(p.interval.hi - p.interval.lo + 1n, size, spec);
  }
  const bad: Array<[string, RegExp]> = [
    ['198.18.0.256', /is not an IP address, CIDR or range/],
    ['198.18.0.0/33', /prefix length "33" is not from 0 to 32/],
    ['fd5e::/129', /prefix length "129" is not from 0 to 128/],
    ['198.18.0.9-198.18.0.1', /ends before it starts/],
    ['198.18.0.1-fd5e::1', /mixes IPv4 and IPv6/],
    ['198.18.0.1-9', /FIRST-LAST, two full addresses/],
  ];
  for (const [spec, re] of bad) assert.throws(() => parseAddressSpec(spec), (e: unknown) => e instanceof AddressSyntaxError && re.test(e.message), spec);
});

test('targets become merged runs of each family; overlapping targets are scanned once', async () => {
  const p = await plan(['198.18.0.0/30', '198.18.0.2-198.18.0.5', 'fd5e:ed00::1', 'fd5e:ed00::2', '127.0.0.1']);
  assert.deepEqual(p.runs, [
    { family: 4, first: '127.0.0.1', count: 1 },
    { family: 4, first: '198.18.0.0', count: 6 },
    { family: 6, first: 'fd5e:ed00::1', count: 2 },
  ]);
  assert.equal(p.addresses, 9);
  assert.equal(p.excluded, 0);
});

test('excludes are taken out; a target left empty is a refusal', async () => {
  const p = await plan(['198.18.0.0/24'], ['198.18.0.0', '198.18.0.128/25', '198.18.0.10-198.18.0.19']);
  assert.deepEqual(p.runs, [
    { family: 4, first: '198.18.0.1', count: 9 },
    { family: 4, first: '198.18.0.20', count: 108 },
  ]);
  assert.equal(p.excluded, 256 - 117);
  await assert.rejects(plan(['198.18.0.1'], ['198.18.0.0/24']), (e: unknown) => e instanceof ScanRefusal && /every target is excluded/.test(e.message));
});

test('a target outside scan.allow refuses the scan, naming the target and the first address outside', async () => {
  const loopback = ['127.0.0.0/8', '::1/128'];
  const cases: Array<[string, string[], string[], RegExp]> = [
    ['one address', ['198.18.0.1'], [], /target "198\.18\.0\.1" is outside the allowed ranges \(scan\.allow: 127\.0\.0\.0\/8, ::1\/128\): 198\.18\.0\.1 is not allowed/],
    ['a CIDR reaching past loopback', ['126.255.255.254/23'], [], /target "126\.255\.255\.254\/23" .*: 126\.255\.254\.0-126\.255\.255\.255 is not allowed/],
    ['an IPv6 address', ['fd5e:ed00::1'], [], /target "fd5e:ed00::1" .*fd5e:ed00::1 is not allowed/],
    ['the second of two targets', ['127.0.0.1', '10.0.0.1'], [], /target "10\.0\.0\.1"/],
  ];
  for (const [what, targets, excludes, re] of cases) {
    await assert.rejects(plan(targets, excludes, loopback), (e: unknown) => e instanceof ScanRefusal && re.test(e.message), what);
  }
  // The part outside allow excluded: the rest may run.
  const p = await plan(['127.255.255.254-128.0.0.1'], ['128.0.0.0/8'], loopback);
  assert.deepEqual(p.runs, [{ family: 4, first: '127.255.255.254', count: 2 }]);
  await assert.rejects(plan([], [], loopback), /no target given/);
});

test('host names resolve through the project resolver (a hosts file, localhost), never a DNS query in tests', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-scan-'));
  const hosts = path.join(dir, 'hosts');
  writeFileSync(hosts, '198.18.7.7 scanhost.sonde.test\nfd5e:ed00::7 scanhost.sonde.test\n');
  let lookups = 0;
  const resolver: Resolver = { local: localNames(new HostsFile(hosts)), lookup: () => (lookups++, Promise.reject(new Error('no DNS in tests'))) };
  const v4 = await resolveTargetSpecs(cmd('scanhost.sonde.test', 'localhost'), { resolver });
  assert.deepEqual(
    v4.map((e) => [e.name, e.family, e.interval.lo === e.interval.hi]),
    [
      ['scanhost.sonde.test', 4, true],
      ['localhost', 4, true],
    ],
  );
  const v6 = await resolveTargetSpecs(cmd('scanhost.sonde.test'), { resolver, preferred: 'ip6' });
  assert.equal(v6[0].family, 6);
  // The address a name stands for is named when it is refused.
  assert.throws(() => planTargets(v4, new DualSet(), DualSet.from(['127.0.0.0/8']), ['127.0.0.0/8']), /target "scanhost\.sonde\.test" \(198\.18\.7\.7\)/);
  // A string that is no host name is an error of syntax, not a lookup.
  await assert.rejects(resolveTargetSpecs(cmd('not a host'), { resolver }), (e: unknown) => e instanceof AddressSyntaxError);
  await assert.rejects(resolveTargetSpecs(cmd('nowhere.sonde.test'), { resolver }), (e: unknown) => e instanceof ScanRefusal && /nowhere\.sonde\.test/.test(e.message));
  assert.equal(lookups, 2, 'only the unknown name went to the resolver (once per family)');
});

test('target and exclude files: several specs a line, commas, # comments, origins kept', () => {
  const specs = parseSpecText('# lab hosts\n198.18.0.1, 198.18.0.2\n\n  198.18.1.0/24   # a net\nfd5e:ed00::1-fd5e:ed00::9\n', 'ex.txt');
  assert.deepEqual(specs, [
    { spec: '198.18.0.1', origin: 'ex.txt:2' },
    { spec: '198.18.0.2', origin: 'ex.txt:2' },
    { spec: '198.18.1.0/24', origin: 'ex.txt:4' },
    { spec: 'fd5e:ed00::1-fd5e:ed00::9', origin: 'ex.txt:5' },
  ]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-scan-'));
  const f = path.join(dir, 'targets.txt');
  writeFileSync(f, '198.18.0.1\n');
  assert.deepEqual(readSpecFile(f, '-iL'), [{ spec: '198.18.0.1', origin: `${f}:1` }]);
  assert.throws(() => readSpecFile(path.join(dir, 'missing'), '--exclude'), (e: unknown) => e instanceof SpecFileError && /--exclude .*missing: cannot read it \(ENOENT\)/.test(e.message));
});

test('a bad target in a file names the file and line', async () => {
  const specs = parseSpecText('198.18.0.1\n198.18.0.300\n', 't.txt');
  await assert.rejects(resolveTargetSpecs(specs), (e: unknown) => e instanceof AddressSyntaxError && /198\.18\.0\.300.*\(t\.txt:2\)/.test(e.message));
});
