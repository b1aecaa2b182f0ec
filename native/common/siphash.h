// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash of a short message. The SYN
// engine keys it per run and hashes each probe's 4-tuple into the TCP sequence number (the cookie
// that validates replies with no table), so a third party that cannot read our SYNs cannot forge
// a reply that validates. Plain C++, no N-API; tested against the paper's vectors.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sonde {

struct SipKey {
  uint64_t k0 = 0, k1 = 0;
};

uint64_t SipHash24(const SipKey& key, const uint8_t* data, size_t len);

// A 64-bit mix (splitmix64's finalizer): turns a seed and a counter into key material.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace sonde
