// The SYN engine's order of visit and its target space (plain C++, no N-API).
//
// Permutation: a keyed bijection of [0, n) with no memory per element: a balanced Feistel network
// over the smallest even number of bits that holds n (as masscan's BlackRock), with cycle-walking
// (re-encrypting until the value falls below n; at most ~4 steps on average since the domain is
// < 4n). Chosen over zmap's cyclic group because it needs no prime search or primitive root for
// each n, is invertible (Inverse gives a reply's position in the order, for its send time), and
// every seed gives a different order. Position p of the order visits index Forward(p); shard i of k
// takes the positions p ≡ i (mod k) of the same order, so shards cover [0, n) exactly once.
//
// ScanSpace: index -> (address, port). index = address number * ports + port number, the address
// number counted through the runs in the order given, the port number through the sorted ranges.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sonde {

class Permutation {
 public:
  static constexpr int kRounds = 6;
  // n >= 1 and < 2^62.
  Permutation(uint64_t n, uint64_t seed);
  uint64_t size() const { return n_; }
  uint64_t Forward(uint64_t pos) const;   // pos < n
  uint64_t Inverse(uint64_t index) const; // index < n

 private:
  uint64_t Round(int r, uint64_t half) const;
  uint64_t Encrypt(uint64_t x) const;
  uint64_t Decrypt(uint64_t x) const;
  uint64_t n_;
  int bits_ = 1;  // half width
  uint64_t mask_ = 1;
  uint64_t keys_[kRounds];
};

struct SpaceRun {
  uint8_t family = 4;
  uint8_t first[16] = {};  // IPv4 in the first 4 bytes
  uint64_t count = 0;      // 1..2^32
};

class ScanSpace {
 public:
  // false with *error when a run or range is malformed, or the space holds 2^62 or more pairs.
  bool Init(const std::vector<SpaceRun>& runs, const std::vector<std::pair<uint16_t, uint16_t>>& ports, std::string* error);
  uint64_t size() const { return size_; }
  uint64_t ports() const { return nports_; }
  // index < size().
  void At(uint64_t index, uint8_t* family, uint8_t* addr16, uint16_t* port) const;
  // The index of (address, port) when the pair is in the space.
  bool IndexOf(uint8_t family, const uint8_t* addr, uint16_t port, uint64_t* index) const;

 private:
  struct Run {
    uint8_t family;
    unsigned __int128 first;
    uint64_t count;
    uint64_t base;  // address number of `first`
  };
  std::vector<Run> runs_;    // in the caller's order: address number -> run by base
  std::vector<Run> sorted_;  // by (family, first): address -> run
  std::vector<uint16_t> lo_, hi_;
  std::vector<uint64_t> port_base_;
  uint64_t naddrs_ = 0, nports_ = 0, size_ = 0;
};

}  // namespace sonde
