// QoS classes at the engines' doors (issue 11): each submission carries its class, and an engine
// keeps part of its slots for the classes that matter most, so that a flood of best-effort work
// cannot take the room critical probes and /probe requests need. Shared by the stream engine
// (stream/engine.cc) and the ICMP engine (icmp/engine.cc); plain C++, tested by tests/qos_test.cc.
//
// Limits are nested, as the scheduler's shedding order is (src/schedule/overload.ts): best_effort
// probes hold at most best_effort_share of the slots, best_effort and standard together at most
// standard_share, critical and probe take any free slot. So (1 - standard_share) of the slots are
// always left to critical and /probe work, whatever the lower classes submit.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace sonde {

// Stable numbers: they cross from JS (src/native/qos.ts).
constexpr uint8_t kQosCritical = 0, kQosStandard = 1, kQosBestEffort = 2, kQosProbe = 3;
constexpr int kQosClasses = 4;
// The order in which waiting work gets free slots: critical and /probe first, best_effort last.
constexpr uint8_t kQosStartOrder[kQosClasses] = {kQosCritical, kQosProbe, kQosStandard, kQosBestEffort};

struct QosLimits {
  double best_effort_share = 0.5;  // of the slots, held by best_effort probes
  double standard_share = 0.8;     // of the slots, held by standard and best_effort probes together
  // Probes of a lower class (standard, best_effort) waiting for a slot in one engine (one shard)
  // past which a new one is shed at once. Critical and /probe work is never shed here: its callers
  // bound it (the scheduler's global bound, /probe admission).
  uint32_t queue_bound = 8192;
};

// Counters read from other threads (the engine's Counters()).
struct QosCounters {
  std::atomic<uint64_t> started[kQosClasses] = {};  // took a slot
  std::atomic<uint64_t> shed[kQosClasses] = {};     // ended at once: their class's queue was past its bound
  std::atomic<uint64_t> waiting[kQosClasses] = {};  // waiting for a slot now
  std::atomic<uint64_t> held[kQosClasses] = {};     // holding a slot now
};

// Slots held per class against the limits. Engine thread only (counters mirrored to QosCounters).
class QosGate {
 public:
  void Configure(uint32_t capacity, const QosLimits& l) {
    limits_ = l;
    capacity_ = capacity;
    be_cap_ = Cap(capacity, l.best_effort_share);
    std_cap_ = Cap(capacity, l.standard_share);
    if (be_cap_ > std_cap_) be_cap_ = std_cap_;
  }
  static uint8_t Clamp(uint8_t cls) { return cls < kQosClasses ? cls : kQosStandard; }
  // Whether a probe of `cls` may take a free slot now (one is free: the caller knows).
  bool MayStart(uint8_t cls) const {
    if (total_ >= capacity_) return false;
    if (cls == kQosBestEffort) return held_[kQosBestEffort] < be_cap_;
    if (cls == kQosStandard) return held_[kQosBestEffort] + held_[kQosStandard] < std_cap_;
    return true;
  }
  // Probes of `cls` that could still start now (free slots within its share).
  uint32_t Room(uint8_t cls) const {
    uint32_t free = capacity_ > total_ ? capacity_ - total_ : 0;
    uint32_t share = free;
    if (cls == kQosBestEffort) share = be_cap_ > held_[kQosBestEffort] ? be_cap_ - held_[kQosBestEffort] : 0;
    if (cls == kQosStandard) {
      uint32_t lower = held_[kQosBestEffort] + held_[kQosStandard];
      share = std_cap_ > lower ? std_cap_ - lower : 0;
    }
    return share < free ? share : free;
  }
  // Whether a new probe of `cls` is shed rather than queued behind `waiting` others of its class:
  // more than the bound would wait once those that can start now have started.
  bool Sheds(uint8_t cls, size_t waiting) const {
    return (cls == kQosBestEffort || cls == kQosStandard) && waiting >= static_cast<size_t>(limits_.queue_bound) + Room(cls);
  }
  void Take(uint8_t cls) {
    held_[cls]++;
    total_++;
  }
  void Release(uint8_t cls) {
    if (held_[cls] > 0) held_[cls]--;
    if (total_ > 0) total_--;
  }
  uint32_t held(uint8_t cls) const { return held_[cls]; }
  uint32_t best_effort_cap() const { return be_cap_; }
  uint32_t standard_cap() const { return std_cap_; }

 private:
  // At least one slot for a class with a share: a tiny engine must still run every class.
  static uint32_t Cap(uint32_t capacity, double share) {
    if (!(share > 0)) return 0;
    double c = static_cast<double>(capacity) * (share > 1 ? 1 : share);
    uint32_t n = static_cast<uint32_t>(c);
    return n == 0 ? 1 : n;
  }
  QosLimits limits_;
  uint32_t capacity_ = 0, be_cap_ = 0, std_cap_ = 0, total_ = 0;
  uint32_t held_[kQosClasses] = {};
};

// A FIFO of fixed-size records (the ICMP engine's specs) taken from the front: a vector and the
// index of its first live record, compacted when it empties or is mostly consumed (no allocation
// once warm).
template <typename T>
class Fifo {
 public:
  size_t size() const { return v_.size() - head_; }
  bool empty() const { return head_ == v_.size(); }
  const T& front() const { return v_[head_]; }
  const T& operator[](size_t i) const { return v_[head_ + i]; }
  void Push(const T& t) { v_.push_back(t); }
  // The names of the engine loop's SubmissionQueue, so that a sender reads either alike.
  size_t left() const { return size(); }
  void Consume(size_t n) {
    for (; n > 0; n--) Pop();
  }
  void Pop() {
    if (++head_ == v_.size()) {
      v_.clear();
      head_ = 0;
    } else if (head_ >= 4096 && head_ * 2 >= v_.size()) {
      v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

 private:
  std::vector<T> v_;
  size_t head_ = 0;
};

// A FIFO of variable-length byte records (the stream engine's queue: a header, then request
// bytes), taken from the front; counts its records.
class ByteFifo {
 public:
  size_t records() const { return n_; }
  bool empty() const { return n_ == 0; }
  size_t bytes() const { return buf_.size() - off_; }
  uint8_t* front() { return buf_.data() + off_; }
  uint8_t* at(size_t byte_off) { return buf_.data() + off_ + byte_off; }
  void Append(const uint8_t* p, size_t len) {
    buf_.insert(buf_.end(), p, p + len);
    n_++;
  }
  // Takes a whole buffer of `records` records when this one is empty (no copy; both keep their
  // capacity): the common case of one class per batch of submissions.
  bool TakeWhole(std::vector<uint8_t>* in, size_t records) {
    if (n_ != 0) return false;
    buf_.clear();
    off_ = 0;
    buf_.swap(*in);
    n_ = records;
    return true;
  }
  void Pop(size_t len) {
    off_ += len;
    if (--n_ == 0) {
      buf_.clear();
      off_ = 0;
    } else if (off_ >= (1u << 20) && off_ * 2 >= buf_.size()) {
      // A queue that never empties (a class kept waiting) must not grow without bound.
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(off_));
      off_ = 0;
    }
  }
  void Clear() {
    buf_.clear();
    off_ = 0;
    n_ = 0;
  }

 private:
  std::vector<uint8_t> buf_;
  size_t off_ = 0, n_ = 0;
};

}  // namespace sonde
