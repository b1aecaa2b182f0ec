// The table of probes in flight: one preallocated array of slots indexed by the probe's key and a
// LIFO free list (so the working set stays small); their deadlines are the engine loop's
// (common/engine_loop.h). Nothing here allocates after Init(): the free list is reserved to
// capacity, and calloc'd pages stay untouched until used.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace sonde {

// kExpired: its reply came, but later than its timeout by the kernel's clocks (read late by us):
// a timeout, and replies after it are late, not duplicates.
enum SlotState : uint8_t { kFree = 0, kInFlight = 1, kAnswered = 2, kExpired = 3 };

struct EchoSlot {
  uint8_t addr[16];
  int64_t tx_ns;     // CLOCK_REALTIME, comparable with kernel socket timestamps
  uint32_t tag;
  uint32_t gen;      // bumped on every reuse, so late replies to an earlier probe never match
  uint32_t tskey;    // SOF_TIMESTAMPING_OPT_ID key of its send
  uint32_t timeout_ms;
  uint8_t family;
  uint8_t state;
  uint8_t sock;
  bool tx_kernel;
  uint8_t qos;       // the QoS class whose share the slot counts in (common/qos.h)
};

class ProbeTable {
 public:
  ProbeTable() = default;
  ~ProbeTable() { std::free(slots_); }
  ProbeTable(const ProbeTable&) = delete;
  ProbeTable& operator=(const ProbeTable&) = delete;

  bool Init(uint32_t log2) {
    log2_ = log2;
    cap_ = 1u << log2;
    slots_ = static_cast<EchoSlot*>(std::calloc(cap_, sizeof(EchoSlot)));
    if (slots_ == nullptr) return false;
    free_.reserve(cap_);
    return true;
  }
  uint32_t capacity() const { return cap_; }
  uint32_t log2() const { return log2_; }
  uint32_t live() const { return live_.load(std::memory_order_relaxed); }
  EchoSlot& at(uint32_t idx) { return slots_[idx]; }

  bool Alloc(uint32_t* idx) {
    if (!free_.empty()) {
      *idx = free_.back();
      free_.pop_back();
    } else if (hwm_ < cap_) {
      *idx = hwm_++;
    } else {
      return false;
    }
    slots_[*idx].gen++;
    slots_[*idx].state = kFree;
    live_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  void Free(uint32_t idx) {
    slots_[idx].state = kFree;
    free_.push_back(idx);
    live_.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  EchoSlot* slots_ = nullptr;
  uint32_t cap_ = 0, log2_ = 0, hwm_ = 0;
  std::atomic<uint32_t> live_{0};
  std::vector<uint32_t> free_;
};

}  // namespace sonde
