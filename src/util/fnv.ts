// FNV-1a, 32 bits (draft-eastlake-fnv): blackbox_exporter's probe_ip_addr_hash is this hash of the
// address bytes, and sonde uses it wherever a stable, cheap hash of a string will do (trace path
// hashes, flow bases). One implementation, so every hash sonde prints is the same function.

const OFFSET_BASIS = 0x811c9dc5;
const PRIME = 0x01000193;

/** FNV-1a 32-bit of raw bytes, or of a string's UTF-8 bytes. */
export function fnv32a(data: string | Uint8Array): number {
  let h = OFFSET_BASIS;
  for (const b of typeof data === 'string' ? Buffer.from(data, 'utf8') : data) h = Math.imul(h ^ b, PRIME) >>> 0;
  return h >>> 0;
}
