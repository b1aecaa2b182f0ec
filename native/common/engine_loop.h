// The loop every probe engine runs on (icmp/, trace/, and next the SYN engine): one thread, one
// epoll set, an eventfd that wakes it, a submission queue taken in whole batches, a min-heap of
// deadlines in CLOCK_MONOTONIC ns, and the hand-off of each turn's outcomes as one batch to a sink
// (the glue's BatchDelivery). What a packet means stays the engine's: the loop calls its Handler.
// Plain C++, no N-API; tested alone by native/tests/engine_loop_test.cc.
#pragma once
#include <sys/epoll.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/engine_io.h"

namespace sonde {

// One entry of a DeadlineQueue: `key` names what is due to its owner, `gen` which use of it.
struct Deadline {
  int64_t at;  // CLOCK_MONOTONIC ns
  uint32_t key;
  uint32_t gen;
};

// Deadlines (a FIFO run of those pushed in time order, a min-heap for the rest) with lazy
// deletion: nothing leaves it before it is due. An owner that no longer needs a deadline (its
// probe answered early, its slot reused) bumps the generation it keeps for the key and ignores the
// entry when it surfaces with a stale gen. Cancelling thus costs nothing and the queue needs no
// back-pointers; a stale head at most wakes the loop once too early.
class DeadlineQueue {
 public:
  void Reserve(size_t n) {
    heap_.reserve(n);
    run_.reserve(n + n / 3 + 4096);  // see the compaction in PopDue
  }
  // Deadlines pushed in time order (one timeout for a whole burst, on a monotonic clock: the usual
  // case) go to a FIFO run in O(1); only one earlier than the run's last goes to the heap, whose
  // O(log n) sift over a large heap was ~2.5% of an ICMP burst's CPU.
  void Push(int64_t at, uint32_t key, uint32_t gen) {
    if (run_.size() == head_ || at >= run_.back().at) {
      run_.push_back(Deadline{at, key, gen});
      return;
    }
    heap_.push_back(Deadline{at, key, gen});
    std::push_heap(heap_.begin(), heap_.end(), Later);
  }
  // Removes and returns the earliest entry when it is due (at <= now); false when none is.
  bool PopDue(int64_t now, Deadline* d) {
    bool from_run = head_ < run_.size() && (heap_.empty() || run_[head_].at <= heap_.front().at);
    if (from_run) {
      if (run_[head_].at > now) return false;
      *d = run_[head_++];
      if (head_ == run_.size()) {
        run_.clear();
        head_ = 0;
      } else if (head_ >= 4096 && head_ * 4 >= run_.size()) {
        // Compaction once a quarter is spent: at most 3 moves an entry, and the run's memory stays
        // within 4/3 of the entries it holds (a vector, not a ring, so untouched pages stay so).
        run_.erase(run_.begin(), run_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
      return true;
    }
    if (heap_.empty() || heap_.front().at > now) return false;
    *d = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    heap_.pop_back();
    return true;
  }
  bool empty() const { return heap_.empty() && head_ == run_.size(); }
  size_t size() const { return heap_.size() + run_.size() - head_; }
  // only when !empty()
  int64_t next() const {
    if (head_ == run_.size()) return heap_.front().at;
    return heap_.empty() ? run_[head_].at : std::min(run_[head_].at, heap_.front().at);
  }

 private:
  static bool Later(const Deadline& a, const Deadline& b) { return a.at > b.at; }
  std::vector<Deadline> heap_;
  std::vector<Deadline> run_;  // nondecreasing `at` from head_ on
  size_t head_ = 0;
};

// Submissions from any thread to the loop's thread. Producers append under a mutex; the loop swaps
// the whole vector out (both vectors keep their capacity, so nothing allocates once warm) and works
// through that batch in order before it takes the next one.
template <typename Spec>
class SubmissionQueue {
 public:
  // Any thread. false once closed. *wake is set when the queue was empty: only then may the loop
  // be asleep without a wake-up already on its way (the loop takes the queue after each wake-up).
  bool Push(const Spec* specs, size_t n, bool* wake) {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return false;
    *wake = in_.empty();
    in_.insert(in_.end(), specs, specs + n);
    return true;
  }
  // The same for specs[i] with pick[i] == which only, in order (a submission split over loops
  // without a copy of it).
  bool PushPicked(const Spec* specs, size_t n, const uint8_t* pick, uint8_t which, bool* wake) {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return false;
    *wake = in_.empty();
    for (size_t i = 0; i < n; i++) {
      if (pick[i] == which) in_.push_back(specs[i]);
    }
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
  }

  // Loop thread only. Once the batch in hand is used up, takes everything submitted since.
  void Refill() {
    if (pos_ < hand_.size()) return;
    hand_.clear();
    pos_ = 0;
    std::lock_guard<std::mutex> lk(mu_);
    hand_.swap(in_);
  }
  size_t left() const { return hand_.size() - pos_; }
  const Spec& operator[](size_t i) const { return hand_[pos_ + i]; }  // i < left(), 0 the oldest
  void Consume(size_t n) { pos_ += n; }

 private:
  std::mutex mu_;
  std::vector<Spec> in_;  // guarded by mu_
  bool closed_ = false;   // guarded by mu_
  std::vector<Spec> hand_;
  size_t pos_ = 0;
};

// What does not depend on the engine's types: the epoll set, the eventfd, the thread, the waiting
// and the stop (common/engine_loop.cc).
class LoopCore {
 public:
  // A Handler's BeforeWait answers with a wait in ms, or one of these.
  static constexpr int kIdle = -1;    // nothing of its own to do: wait for packets, submissions, deadlines
  static constexpr int kNoWait = -2;  // skip the wait this turn (OnReady gets no events)
  // The epoll tag of the eventfd; engines tag their sockets with any other value.
  static constexpr uint32_t kWakeTag = UINT32_MAX;

  LoopCore() = default;
  ~LoopCore();
  LoopCore(const LoopCore&) = delete;
  LoopCore& operator=(const LoopCore&) = delete;

  // Opens the epoll set and the eventfd. idle_ms bounds a wait when nothing is due. false with
  // *error set.
  bool Open(std::string* error, int idle_ms = 1000);
  // Level-triggered EPOLLIN on fd, reported to OnReady with data.u32 = tag.
  bool Watch(int fd, uint32_t tag);
  void Unwatch(int fd);

 protected:
  // Waits (in epoll_wait) at most wait_ms (kIdle: idle_ms) and until the deadline `next` if any,
  // rounded up to whole ms (waking early would only spin). Drains the eventfd; returns the other
  // events, packed at the front of evs.
  int Wait(int wait_ms, bool has_next, int64_t next, epoll_event* evs, int cap);
  void Wake();
  // Stops and joins the thread (every caller returns only once it is joined), closes the fds.
  void StopThread();

  std::thread thread_;
  std::atomic<bool> stop_{false};

 private:
  int epfd_ = -1, evfd_ = -1, idle_ms_ = 1000;
  std::mutex stop_mu_;
};

// The loop of one engine thread. Handler is the engine's per-packet logic; the loop calls it on its
// thread only, every turn in this order:
//   int  BeforeWait()                  how long its own work lets the loop sleep: ms, kIdle or kNoWait
//   void OnReady(const epoll_event* evs, int n)  its sockets that are readable (n may be 0)
//   void Send()                        sends from pending(), just refilled
//   void OnDeadline(const Deadline& d) for each due deadline it scheduled, earliest first
// then the turn's outcomes go to the sink as one batch. The loop is destroyed before the members
// declared ahead of it: declare it last in the engine (or Stop it first), so its thread never sees
// a half-destroyed handler.
template <typename Spec, typename Outcome>
class EngineLoop : public LoopCore {
 public:
  using Sink = std::function<void(std::vector<Outcome>&& batch)>;

  ~EngineLoop() { Stop(); }

  // Before Start. After each hand-off the next batch gets room for `reserve` outcomes up front.
  void SetSink(Sink sink, size_t reserve) {
    sink_ = std::move(sink);
    reserve_ = reserve;
    out_.reserve(reserve_);
  }
  // After Open (and Watch of the sockets it starts with).
  template <typename Handler>
  void Start(Handler* h) {
    thread_ = std::thread([this, h] { Run(h); });
  }

  // Any thread; the loop takes them in order. false after Stop().
  bool Submit(const Spec* specs, size_t n) {
    bool wake = false;
    if (!queue_.Push(specs, n, &wake)) return false;
    if (wake) Wake();
    return true;
  }
  // Submits specs[i] for which pick[i] == which (SubmissionQueue::PushPicked).
  bool SubmitPicked(const Spec* specs, size_t n, const uint8_t* pick, uint8_t which) {
    bool wake = false;
    if (!queue_.PushPicked(specs, n, pick, which, &wake)) return false;
    if (wake) Wake();
    return true;
  }
  // Any thread, idempotent: refuses further submissions and joins the thread. No outcome reaches
  // the sink after it returns; submissions not sent yet and pending deadlines are dropped.
  void Stop() {
    queue_.Close();
    StopThread();
  }

  // Loop thread only (the Handler's calls).
  SubmissionQueue<Spec>& pending() { return queue_; }
  void Schedule(int64_t at_mono_ns, uint32_t key, uint32_t gen) { deadlines_.Push(at_mono_ns, key, gen); }
  DeadlineQueue& deadlines() { return deadlines_; }
  void Emit(const Outcome& o) { out_.push_back(o); }

 private:
  static constexpr int kMaxEvents = 16;

  template <typename Handler>
  void Run(Handler* h) {
    epoll_event evs[kMaxEvents];
    while (!stop_.load(std::memory_order_relaxed)) {
      int wait = h->BeforeWait();
      int n = wait == kNoWait ? 0 : Wait(wait, !deadlines_.empty(), deadlines_.empty() ? 0 : deadlines_.next(), evs, kMaxEvents);
      h->OnReady(evs, n);
      queue_.Refill();
      h->Send();
      int64_t now = Now(CLOCK_MONOTONIC);
      Deadline d;
      while (deadlines_.PopDue(now, &d)) h->OnDeadline(d);
      if (!out_.empty()) {
        std::vector<Outcome> batch;
        batch.swap(out_);
        out_.reserve(reserve_);
        if (sink_) sink_(std::move(batch));
      }
    }
  }

  SubmissionQueue<Spec> queue_;
  DeadlineQueue deadlines_;
  std::vector<Outcome> out_;
  Sink sink_;
  size_t reserve_ = 0;
};

}  // namespace sonde
