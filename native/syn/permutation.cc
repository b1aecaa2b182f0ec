#include "syn/permutation.h"

#include <algorithm>

#include "common/siphash.h"

namespace sonde {

Permutation::Permutation(uint64_t n, uint64_t seed) : n_(n < 1 ? 1 : n) {
  while (bits_ < 31 && (uint64_t{1} << (2 * bits_)) < n_) bits_++;
  mask_ = (uint64_t{1} << bits_) - 1;
  for (int r = 0; r < kRounds; r++) keys_[r] = Mix64(seed ^ Mix64(static_cast<uint64_t>(r) + 0x5eed));
}

uint64_t Permutation::Round(int r, uint64_t half) const { return Mix64(half ^ keys_[r]) & mask_; }

uint64_t Permutation::Encrypt(uint64_t x) const {
  uint64_t l = x >> bits_, r = x & mask_;
  for (int i = 0; i < kRounds; i++) {
    uint64_t t = l ^ Round(i, r);
    l = r;
    r = t;
  }
  return (l << bits_) | r;
}

uint64_t Permutation::Decrypt(uint64_t x) const {
  uint64_t l = x >> bits_, r = x & mask_;
  for (int i = kRounds - 1; i >= 0; i--) {
    uint64_t t = r ^ Round(i, l);
    r = l;
    l = t;
  }
  return (l << bits_) | r;
}

// Cycle-walking: a bijection of the 2^(2 bits) domain restricted to [0, n) by following each
// value's cycle until it re-enters [0, n); bounded because the cycle through a value < n returns.
uint64_t Permutation::Forward(uint64_t pos) const {
  uint64_t x = Encrypt(pos);
  while (x >= n_) x = Encrypt(x);
  return x;
}

uint64_t Permutation::Inverse(uint64_t index) const {
  uint64_t x = Decrypt(index);
  while (x >= n_) x = Decrypt(x);
  return x;
}

namespace {

unsigned __int128 AddrValue(uint8_t family, const uint8_t* a) {
  unsigned __int128 v = 0;
  for (int i = 0; i < (family == 4 ? 4 : 16); i++) v = (v << 8) | a[i];
  return v;
}

void AddrBytes(uint8_t family, unsigned __int128 v, uint8_t* out16) {
  std::fill(out16, out16 + 16, 0);
  int n = family == 4 ? 4 : 16;
  for (int i = n - 1; i >= 0; i--) {
    out16[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

}  // namespace

bool ScanSpace::Init(const std::vector<SpaceRun>& runs, const std::vector<std::pair<uint16_t, uint16_t>>& ports,
                     std::string* error) {
  runs_.clear();
  sorted_.clear();
  lo_.clear();
  hi_.clear();
  port_base_.clear();
  naddrs_ = nports_ = size_ = 0;
  if (runs.empty() || ports.empty()) {
    *error = "the scan needs at least one address and one port";
    return false;
  }
  for (const SpaceRun& r : runs) {
    if ((r.family != 4 && r.family != 6) || r.count < 1 || r.count > (uint64_t{1} << 32)) {
      *error = "address runs need family 4 or 6 and 1..2^32 addresses";
      return false;
    }
    unsigned __int128 first = AddrValue(r.family, r.first);
    unsigned __int128 limit = r.family == 4 ? (static_cast<unsigned __int128>(1) << 32) : ~static_cast<unsigned __int128>(0);
    if (limit - first < r.count - (r.family == 4 ? 0 : 1)) {
      *error = "an address run goes past the end of its family's space";
      return false;
    }
    runs_.push_back(Run{r.family, first, r.count, naddrs_});
    naddrs_ += r.count;
  }
  sorted_ = runs_;
  std::sort(sorted_.begin(), sorted_.end(),
            [](const Run& a, const Run& b) { return a.family != b.family ? a.family < b.family : a.first < b.first; });
  for (size_t i = 1; i < sorted_.size(); i++) {
    if (sorted_[i].family == sorted_[i - 1].family && sorted_[i].first < sorted_[i - 1].first + sorted_[i - 1].count) {
      *error = "address runs overlap";
      return false;
    }
  }
  for (auto [lo, hi] : ports) {
    if (lo < 1 || hi < lo || (!hi_.empty() && lo <= hi_.back())) {
      *error = "port ranges must be 1..65535, lo <= hi, sorted and disjoint";
      return false;
    }
    lo_.push_back(lo);
    hi_.push_back(hi);
    port_base_.push_back(nports_);
    nports_ += static_cast<uint64_t>(hi - lo) + 1;
  }
  if (naddrs_ > (uint64_t{1} << 62) / nports_) {
    *error = "the scan space is too large (2^62 pairs or more)";
    return false;
  }
  size_ = naddrs_ * nports_;
  return true;
}

void ScanSpace::At(uint64_t index, uint8_t* family, uint8_t* addr16, uint16_t* port) const {
  uint64_t a = index / nports_, p = index % nports_;
  auto ri = std::upper_bound(runs_.begin(), runs_.end(), a, [](uint64_t v, const Run& r) { return v < r.base; }) - 1;
  *family = ri->family;
  AddrBytes(ri->family, ri->first + (a - ri->base), addr16);
  size_t pi = static_cast<size_t>(std::upper_bound(port_base_.begin(), port_base_.end(), p) - port_base_.begin()) - 1;
  *port = static_cast<uint16_t>(lo_[pi] + (p - port_base_[pi]));
}

bool ScanSpace::IndexOf(uint8_t family, const uint8_t* addr, uint16_t port, uint64_t* index) const {
  unsigned __int128 v = AddrValue(family, addr);
  auto it = std::upper_bound(sorted_.begin(), sorted_.end(), std::make_pair(family, v), [](const std::pair<uint8_t, unsigned __int128>& k, const Run& r) {
    return k.first != r.family ? k.first < r.family : k.second < r.first;
  });
  if (it == sorted_.begin()) return false;
  --it;
  if (it->family != family || v - it->first >= it->count) return false;
  size_t pi = static_cast<size_t>(std::upper_bound(lo_.begin(), lo_.end(), port) - lo_.begin());
  if (pi == 0 || port > hi_[pi - 1]) return false;
  pi--;
  uint64_t a = it->base + static_cast<uint64_t>(v - it->first);
  *index = a * nports_ + port_base_[pi] + (port - lo_[pi]);
  return true;
}

}  // namespace sonde
