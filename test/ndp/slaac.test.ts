// SLAAC address proposals without a network: EUI-64 (RFC 4291 App. A), the SHA-1 compression
// Linux uses for RFC 7217, reserved identifiers (RFC 5453), and where the key comes from.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { stableSecret } from '../../src/ndp/report';
import { eui64InterfaceId, isReservedInterfaceId, joinPrefixAndId, linuxStablePrivacyId, sha1Compress, secretBytes } from '../../src/ndp/slaac';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('EUI-64 puts ff:fe in the middle of the MAC and flips the universal/local bit', () => {
  const cases: { desc: string; mac: number[]; devId?: number; want: string | null }[] = [
    { desc: 'universal MAC: U/L bit set in the identifier', mac: [0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e], want: '021b21fffe3c4d5e' },
    { desc: 'local MAC (veth): U/L bit cleared', mac: [0x6a, 0xf2, 0x4e, 0xe6, 0xea, 0x21], want: '68f24efffee6ea21' },
    { desc: 'Linux dev_id replaces ff:fe and keeps the U/L bit', mac: [0x02, 0, 0, 0, 0, 1], devId: 0x0102, want: '0200000102000001' },
    { desc: 'not a 48-bit address', mac: [1, 2, 3, 4, 5, 6, 7, 8], want: null },
  ];
  for (const c of cases) {
    const id = eui64InterfaceId(Uint8Array.from(c.mac), c.devId);
    assert.equal(id === null ? null : hex(id), c.want, c.desc);
  }
});

test('sha1Compress of a padded one-block message equals SHA-1 of that message', () => {
  for (const msg of ['', 'abc', 'x'.repeat(55)]) {
    const block = new Uint8Array(64);
    Buffer.from(msg).copy(block);
    block[msg.length] = 0x80;
    new DataView(block.buffer).setUint32(60, msg.length * 8);
    const h = sha1Compress(block);
    const out = Buffer.alloc(20);
    h.forEach((w, i) => out.writeUInt32BE(w, i * 4));
    assert.equal(out.toString('hex'), createHash('sha1').update(msg).digest('hex'), `message of ${msg.length} bytes`);
  }
});

test('reserved interface identifiers are recognised (RFC 5453)', () => {
  const cases: { desc: string; id: string; reserved: boolean }[] = [
    { desc: 'all zeros (subnet-router anycast)', id: '0000000000000000', reserved: true },
    { desc: 'IANA Ethernet block 0200:5eff:fe00::/104 and up', id: '02005efffe123456', reserved: true },
    { desc: 'just below that block', id: '02005efffd123456', reserved: false },
    { desc: 'subnet anycast fdff:ffff:ffff:ff80/121', id: 'fdffffffffffff80', reserved: true },
    { desc: 'just below the anycast range', id: 'fdffffffffffff7f', reserved: false },
    { desc: 'an ordinary identifier', id: '20decc81ae8eb385', reserved: false },
  ];
  for (const c of cases) assert.equal(isReservedInterfaceId(Buffer.from(c.id, 'hex')), c.reserved, c.desc);
});

test('the stable privacy identifier depends on prefix, secret, hardware address and DAD counter only', () => {
  const prefix = new Uint8Array(16).fill(0xfd, 0, 1);
  const secret = secretBytes('fd5e:ed00:5ec:0:1234:5678:9abc:def0');
  const zeros = new Uint8Array(6);
  const base = linuxStablePrivacyId(prefix, secret, zeros, { littleEndian: true });
  assert.ok(base);
  assert.equal(hex(linuxStablePrivacyId(prefix, secret, zeros, { littleEndian: true })!), hex(base), 'deterministic');
  const other = Uint8Array.from(prefix);
  other[7] = 1;
  assert.notEqual(hex(linuxStablePrivacyId(other, secret, zeros, { littleEndian: true })!), hex(base), 'prefix changes it');
  const otherLow = Uint8Array.from(prefix);
  otherLow[15] = 1;
  assert.equal(hex(linuxStablePrivacyId(otherLow, secret, zeros, { littleEndian: true })!), hex(base), 'bits past /64 do not');
  assert.notEqual(hex(linuxStablePrivacyId(prefix, secret, Uint8Array.from([0, 0, 0, 0, 0, 1]), { littleEndian: true })!), hex(base));
  assert.notEqual(hex(linuxStablePrivacyId(prefix, secret, zeros, { littleEndian: true, dadCount: 1 })!), hex(base));
  // The kernel stores SHA-1 state words in host order: a big-endian host swaps each half.
  const be = linuxStablePrivacyId(prefix, secret, zeros, { littleEndian: false })!;
  assert.equal(hex(be), hex(Uint8Array.from([...base.subarray(0, 4)].reverse().concat([...base.subarray(4)].reverse()))));
});

test('joinPrefixAndId writes the identifier into the low 64 bits', () => {
  assert.equal(joinPrefixAndId('fd5e:ed00:61::', Buffer.from('68f24efffee6ea21', 'hex')), 'fd5e:ed00:61:0:68f2:4eff:fee6:ea21');
});

test('the stable secret is the interface sysctl, else the default one, else random and said so', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sonde-secret-'));
  try {
    for (const d of ['eth0', 'eth1', 'default']) mkdirSync(path.join(root, d));
    writeFileSync(path.join(root, 'eth0', 'stable_secret'), 'fd5e::1\n');
    let s = stableSecret('eth0', root);
    assert.equal(s.source, 'net.ipv6.conf.eth0.stable_secret');
    assert.equal(hex(s.bytes), 'fd5e0000000000000000000000000001');
    s = stableSecret('eth1', root);
    assert.equal(s.source, 'random');
    assert.match(s.note, /no stable_secret for eth1: a random per-run key/);
    writeFileSync(path.join(root, 'default', 'stable_secret'), 'fd5e::2\n');
    s = stableSecret('eth1', root);
    assert.equal(s.source, 'net.ipv6.conf.default.stable_secret');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
