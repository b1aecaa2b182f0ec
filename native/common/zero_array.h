// A fixed array that starts all zero without touching its memory. An engine preallocates its
// buffers and tables for the worst case (a batch of 64 packets, a TX-timestamp ring per table
// slot); std::vector::assign writes every byte of them up front, which an idle daemon then carries
// as resident memory (about 7 MB of it before this). Anonymous mmap pages are zero and take no
// memory until first written, so a buffer costs RSS only as far as it has been used.
#pragma once
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace sonde {

template <typename T>
class ZeroArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_default_constructible_v<T>,
                "all-zero bytes must be a valid T");

 public:
  ZeroArray() = default;
  ~ZeroArray() { Release(); }
  ZeroArray(const ZeroArray&) = delete;
  ZeroArray& operator=(const ZeroArray&) = delete;

  /** n zero elements (the old ones are dropped); false when the mapping fails. */
  bool Allocate(size_t n) {
    Release();
    if (n == 0) return true;
    void* p = mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    p_ = static_cast<T*>(p);
    n_ = n;
    return true;
  }
  bool empty() const { return n_ == 0; }
  size_t size() const { return n_; }
  T* data() { return p_; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }

 private:
  void Release() {
    if (p_ != nullptr) munmap(p_, n_ * sizeof(T));
    p_ = nullptr;
    n_ = 0;
  }
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace sonde

namespace sonde {

// One value (a descriptor, a slot index) per local port, none by default: a table of 65,536 that
// costs memory only for the pages where ports were set. Stored as value + 1, so zero is none.
class PortMap {
 public:
  /** the value at `port`, or -1 for none */
  int Get(uint16_t port) const { return map_.empty() ? -1 : map_[port] - 1; }
  /** false only when the table could not be mapped (nothing is stored then) */
  bool Set(uint16_t port, int value) {
    if (map_.empty() && !map_.Allocate(65536)) return false;
    map_[port] = value + 1;
    return true;
  }
  void Clear(uint16_t port) {
    if (!map_.empty()) map_[port] = 0;
  }
  /** f(value) for every port set, then none is */
  template <typename F>
  void Drain(F f) {
    for (size_t p = 0; p < map_.size(); p++) {
      if (map_[p] != 0) f(map_[p] - 1);
    }
    map_.Allocate(0);
  }

 private:
  ZeroArray<int32_t> map_;
};

}  // namespace sonde
