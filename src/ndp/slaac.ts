// The SLAAC addresses a Linux host forms from a Router Advertisement's autonomous prefix:
// the modified EUI-64 (RFC 4291 §2.5.1 and App. A) and the stable privacy address of RFC 7217
// exactly as net/ipv6/addrconf.c computes it (ipv6_generate_stable_address), so the proposal
// can be checked against the kernel's own address.
import { endianness } from 'node:os';
import { addressBytes, formatAddress } from '../native/ipaddr';

/**
 * Modified EUI-64 interface identifier from a 48-bit MAC: ff:fe in the middle and the
 * universal/local bit flipped (RFC 4291 App. A). Linux writes a non-zero dev_id into bytes 3-4
 * instead and then leaves the U/L bit alone (addrconf_ifid_eui48). Null for non-48-bit addresses.
 */
export function eui64InterfaceId(mac: Uint8Array, devId = 0): Uint8Array | null {
  if (mac.length !== 6) return null;
  const id = new Uint8Array([mac[0], mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]]);
  if (devId !== 0) {
    id[3] = (devId >> 8) & 0xff;
    id[4] = devId & 0xff;
  } else {
    id[0] ^= 0x02;
  }
  return id;
}

const rotl = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;

/** One SHA-1 compression (FIPS 180-4 §6.1.2) of a 64-byte block from the standard initial state. */
export function sha1Compress(block: Uint8Array): Uint32Array {
  if (block.length !== 64) throw new RangeError('sha1Compress needs exactly one 64-byte block');
  const h = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
  const w = new Uint32Array(80);
  const view = new DataView(block.buffer, block.byteOffset, 64);
  for (let t = 0; t < 16; t++) w[t] = view.getUint32(t * 4, false);
  for (let t = 16; t < 80; t++) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
  let [a, b, c, d, e] = h;
  for (let t = 0; t < 80; t++) {
    let f: number;
    let k: number;
    if (t < 20) [f, k] = [(b & c) | (~b & d), 0x5a827999];
    else if (t < 40) [f, k] = [b ^ c ^ d, 0x6ed9eba1];
    else if (t < 60) [f, k] = [(b & c) | (b & d) | (c & d), 0x8f1bbcdc];
    else [f, k] = [b ^ c ^ d, 0xca62c1d6];
    const tmp = (rotl(a, 5) + (f >>> 0) + e + k + w[t]) >>> 0;
    [e, d, c, b, a] = [d, c, rotl(b, 30), a, tmp];
  }
  return new Uint32Array([h[0] + a, h[1] + b, h[2] + c, h[3] + d, h[4] + e].map((v) => v >>> 0));
}

/** RFC 5453 and addrconf.c ipv6_reserved_interfaceid(): identifiers a host must not use. */
export function isReservedInterfaceId(id: Uint8Array): boolean {
  const hi = ((id[0] << 24) | (id[1] << 16) | (id[2] << 8) | id[3]) >>> 0;
  const lo = ((id[4] << 24) | (id[5] << 16) | (id[6] << 8) | id[7]) >>> 0;
  if (hi === 0 && lo === 0) return true; // subnet-router anycast (RFC 4291 §2.6.1)
  if (hi === 0x02005eff && (lo & 0xfe000000) >>> 0 === 0xfe000000) return true; // IANA Ethernet block
  if (hi === 0xfdffffff && (lo & 0xffffff80) >>> 0 === 0xffffff80) return true; // subnet anycast (RFC 2526)
  return false;
}

/**
 * RFC 7217 F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key) as Linux implements it:
 * one SHA-1 compression, without padding or length, of secret(16) | prefix(8) | perm_addr(32,
 * zero-filled) | dad_count(1) | zeros, the identifier being the first two state words stored in
 * host byte order. Net_Iface is the permanent hardware address; Network_ID is not used.
 * Reserved identifiers are retried with the next DAD counter up to `retries`
 * (net.ipv6.idgen_retries, default 3). Null when every try was reserved.
 */
export function linuxStablePrivacyId(
  prefix: Uint8Array,
  secret: Uint8Array,
  permAddr: Uint8Array,
  opts: { dadCount?: number; retries?: number; littleEndian?: boolean } = {},
): Uint8Array | null {
  if (secret.length !== 16) throw new RangeError('stable secret must be 16 bytes');
  const little = opts.littleEndian ?? endianness() === 'LE';
  const retries = opts.retries ?? 3;
  for (let dad = opts.dadCount ?? 0; dad <= retries; dad++) {
    const block = new Uint8Array(64);
    block.set(secret, 0);
    block.set(prefix.subarray(0, 8), 16);
    block.set(permAddr.subarray(0, 32), 24);
    block[56] = dad;
    const h = sha1Compress(block);
    const id = new Uint8Array(8);
    const dv = new DataView(id.buffer);
    dv.setUint32(0, h[0], little);
    dv.setUint32(4, h[1], little);
    if (!isReservedInterfaceId(id)) return id;
  }
  return null;
}

/** Prefix (first 64 bits) + interface identifier, as RFC 5952 text. */
export function joinPrefixAndId(prefix: string, id: Uint8Array): string {
  const bytes = addressBytes(prefix).bytes;
  bytes.set(id, 8);
  return formatAddress(bytes, 6);
}

/** Parses a stable_secret sysctl value (an IPv6 address literal) into its 16 bytes. */
export function secretBytes(text: string): Uint8Array {
  const { family, bytes } = addressBytes(text.trim());
  if (family !== 6) throw new RangeError(`stable_secret is not an IPv6 address: ${text.trim()}`);
  return bytes;
}
