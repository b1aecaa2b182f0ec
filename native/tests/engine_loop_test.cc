// Unit tests of common/engine_loop.{h,cc} alone (no packets, no privileges): deadlines come due in
// order, a submission wakes a sleeping loop, outcomes leave in batches, a socket's readiness reaches
// the handler, and Stop returns with submissions and deadlines still pending. Run by
// `make -C native/tests loop-unit`. No test depends on how fast the machine is: the loop's idle wait
// is an hour, so a missed wake-up hangs the test until its generous bound and fails it.
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "check.h"
#include "common/engine_loop.h"

using namespace sonde;

namespace {

constexpr int kHourMs = 3600 * 1000;
constexpr auto kBound = std::chrono::seconds(60);  // "never" on any machine that runs the tests

struct Spec {
  uint32_t id;
  int64_t at_ns = -1;   // < 0: emit at once; else a deadline (CLOCK_MONOTONIC) to schedule
  bool cancel = false;  // instead: cancel id's deadline (bump its generation)
};

struct Outcome {
  uint32_t id;
  bool timed_out;
};

// Collects the batches the sink receives, on the test's thread.
class Collector {
 public:
  void operator()(std::vector<Outcome>&& batch) {
    std::lock_guard<std::mutex> lk(mu_);
    batches_.push_back(std::move(batch));
    cv_.notify_all();
  }
  // Waits until `total` outcomes came in; false when the bound passes first.
  bool WaitFor(size_t total) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, kBound, [&] { return Count() >= total; });
  }
  std::vector<std::vector<Outcome>> Batches() {
    std::lock_guard<std::mutex> lk(mu_);
    return batches_;
  }
  std::vector<Outcome> All() {
    std::vector<Outcome> all;
    for (auto& b : Batches()) all.insert(all.end(), b.begin(), b.end());
    return all;
  }

 private:
  size_t Count() const {
    size_t n = 0;
    for (auto& b : batches_) n += b.size();
    return n;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<Outcome>> batches_;
};

// A handler like an engine's: sends everything it holds (or nothing while `hold`), emits an
// outcome per spec at once or when its deadline comes due, and reads a watched eventfd.
struct Handler {
  EngineLoop<Spec, Outcome>* loop = nullptr;
  bool hold = false;                 // set before Start: Send takes nothing
  int fd = -1;                       // a watched eventfd, tag 7
  std::atomic<uint64_t> fd_reads{0};
  std::atomic<uint64_t> turns{0};
  std::vector<uint32_t> gen;         // per id: the generation its deadline must carry

  int BeforeWait() {
    turns++;
    return LoopCore::kIdle;
  }
  void OnReady(const epoll_event* evs, int n) {
    for (int i = 0; i < n; i++) {
      CHECK(evs[i].data.u32 == 7);  // the loop's own wake-up never reaches the handler
      uint64_t v;
      if (read(fd, &v, sizeof(v)) == sizeof(v)) fd_reads += v;
      loop->Emit(Outcome{1000000 + static_cast<uint32_t>(v), false});
    }
  }
  void Send() {
    auto& q = loop->pending();
    if (hold) return;
    for (size_t i = 0; i < q.left(); i++) {
      const Spec& s = q[i];
      if (gen.size() <= s.id) gen.resize(s.id + 1, 0);
      if (s.cancel) {
        gen[s.id]++;
      } else if (s.at_ns < 0) {
        loop->Emit(Outcome{s.id, false});
      } else {
        loop->Schedule(s.at_ns, s.id, gen[s.id]);
      }
    }
    q.Consume(q.left());
  }
  void OnDeadline(const Deadline& d) {
    if (d.gen != gen[d.key]) return;  // cancelled: lazy deletion
    loop->Emit(Outcome{d.key, true});
  }
};

struct Rig {
  Collector got;
  Handler h;
  EngineLoop<Spec, Outcome> loop;  // last: destroyed (joined) first
  explicit Rig(bool start = true) {
    std::string err;
    CHECK(loop.Open(&err, kHourMs));
    loop.SetSink([this](std::vector<Outcome>&& b) { got(std::move(b)); }, 4);
    h.loop = &loop;
    if (start) loop.Start(&h);
  }
};

void TestDeadlineOrder() {
  DeadlineQueue q;
  std::mt19937 rng(3);
  std::vector<int64_t> ats;
  for (uint32_t i = 0; i < 1000; i++) {
    int64_t at = static_cast<int64_t>(rng() % 500);
    ats.push_back(at);
    q.Push(at, i, i * 2);
  }
  Deadline d;
  CHECK(q.size() == 1000 && q.next() == *std::min_element(ats.begin(), ats.end()));
  // Nothing is due before its time.
  int64_t last = -1;
  size_t popped = 0;
  while (q.PopDue(249, &d)) {
    CHECK(d.at <= 249 && d.at >= last && d.gen == d.key * 2 && ats[d.key] == d.at);
    last = d.at;
    popped++;
  }
  CHECK(popped == static_cast<size_t>(std::count_if(ats.begin(), ats.end(), [](int64_t a) { return a <= 249; })));
  CHECK(!q.empty() && q.next() >= 250);
  while (q.PopDue(INT64_MAX, &d)) {
    CHECK(d.at >= last);
    last = d.at;
    popped++;
  }
  CHECK(popped == 1000 && q.empty());
}

// Mostly in order (the run), some earlier ones (the heap), pops between pushes (the run's
// compaction): every entry comes out once, in time order.
void TestDeadlineRun() {
  DeadlineQueue q;
  std::mt19937 rng(5);
  int64_t clock = 0, last = -1;
  size_t pushed = 0, popped = 0;
  Deadline d;
  for (int round = 0; round < 40; round++) {
    for (int i = 0; i < 500; i++) {
      clock += rng() % 3;
      int64_t at = clock + (rng() % 9 == 0 ? static_cast<int64_t>(rng() % 50) : 100);
      q.Push(at, static_cast<uint32_t>(pushed), 0);
      pushed++;
    }
    CHECK(q.size() == pushed - popped);
    int64_t due = clock - 20;
    while (q.PopDue(due, &d)) {
      CHECK(d.at <= due && d.at >= last);
      last = d.at;
      popped++;
    }
    CHECK(q.empty() || q.next() > due);
  }
  while (q.PopDue(INT64_MAX, &d)) {
    CHECK(d.at >= last);
    last = d.at;
    popped++;
  }
  CHECK(popped == pushed && q.empty() && q.size() == 0);
}

// A loop asleep with nothing due (idle wait: an hour) takes a submission at once.
// A submission split by a pick array: each queue takes its own specs, in order, and is told to
// wake only when it was empty.
void TestPushPicked() {
  SubmissionQueue<int> q;
  int specs[6] = {10, 11, 12, 13, 14, 15};
  uint8_t pick[6] = {0, 1, 1, 0, 1, 0};
  bool wake = false;
  CHECK(q.PushPicked(specs, 6, pick, 1, &wake) && wake);
  CHECK(q.PushPicked(specs, 6, pick, 0, &wake) && !wake);
  q.Refill();
  const int want[6] = {11, 12, 14, 10, 13, 15};
  CHECK(q.left() == 6);
  for (int i = 0; i < 6; i++) CHECK(q[static_cast<size_t>(i)] == want[i]);
}

void TestWakeOnSubmit() {
  Rig r;
  // Let it go to sleep first: it has run a turn and found nothing to do.
  auto until = std::chrono::steady_clock::now() + kBound;
  while (r.h.turns.load() < 1 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Spec s{1};
  CHECK(r.loop.Submit(&s, 1));
  CHECK(r.got.WaitFor(1));
  // Again, after it went back to sleep: the queue was emptied, so the next submission wakes it too.
  Spec t{2};
  CHECK(r.loop.Submit(&t, 1));
  CHECK(r.got.WaitFor(2));
  // Submissions from several threads at once all arrive, each thread's in its order.
  std::vector<std::thread> ts;
  for (uint32_t k = 0; k < 4; k++) {
    ts.emplace_back([&r, k] {
      for (uint32_t i = 0; i < 500; i++) {
        Spec x{100000 * (k + 1) + i};
        r.loop.Submit(&x, 1);
      }
    });
  }
  for (auto& t : ts) t.join();
  CHECK(r.got.WaitFor(2 + 4 * 500));
  std::vector<Outcome> all = r.got.All();
  CHECK(all.size() == 2 + 4 * 500);
  uint32_t next[4] = {};
  for (size_t i = 2; i < all.size(); i++) {
    uint32_t k = all[i].id / 100000 - 1, seq = all[i].id % 100000;
    CHECK(k < 4 && seq == next[k]);
    if (k < 4) next[k] = seq + 1;
  }
}

// What one turn emits reaches the sink as one batch, in order.
void TestBatchDelivery() {
  Rig r(false);
  std::vector<Spec> specs;
  for (uint32_t i = 0; i < 100; i++) specs.push_back(Spec{i});
  CHECK(r.loop.Submit(specs.data(), specs.size()));  // before Start: taken by its first turn
  r.loop.Start(&r.h);
  CHECK(r.got.WaitFor(100));
  auto batches = r.got.Batches();
  CHECK(batches.size() == 1 && batches[0].size() == 100);
  for (uint32_t i = 0; i < batches[0].size(); i++) CHECK(batches[0][i].id == i && !batches[0][i].timed_out);
}

// Deadlines wake the loop (idle wait: an hour) and come due earliest first, however late the
// loop gets to them; a cancelled one (its generation bumped) stays in the heap but is ignored.
void TestDeadlinesThroughTheLoop() {
  Rig r(false);
  int64_t base = Now(CLOCK_MONOTONIC), ms = 1000000;
  std::vector<Spec> specs = {{1, base + 40 * ms}, {2, base + 10 * ms}, {3, base + 30 * ms}, {4, base + 20 * ms},
                             {5, base},           {6, base + 15 * ms}, {6, -1, true},      {7, base + 25 * ms},
                             {6, base + 35 * ms}};
  CHECK(r.loop.Submit(specs.data(), specs.size()));
  r.loop.Start(&r.h);
  CHECK(r.got.WaitFor(7));
  std::vector<Outcome> all = r.got.All();
  uint32_t want[] = {5, 2, 4, 7, 3, 6, 1};  // 6's first deadline (15 ms) was cancelled, its second is 35 ms
  CHECK(all.size() == 7);
  for (size_t i = 0; i < all.size() && i < 7; i++) CHECK(all[i].id == want[i] && all[i].timed_out);
}

// A watched socket's readiness reaches OnReady with its tag.
void TestReadiness() {
  Rig r(false);
  r.h.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  CHECK(r.h.fd >= 0 && r.loop.Watch(r.h.fd, 7));
  r.loop.Start(&r.h);
  uint64_t v = 5;
  CHECK(write(r.h.fd, &v, sizeof(v)) == sizeof(v));
  CHECK(r.got.WaitFor(1));
  CHECK(r.h.fd_reads.load() == 5 && r.got.All()[0].id == 1000005);
  r.loop.Stop();
  close(r.h.fd);
}

// Stop returns promptly with submissions not sent and deadlines an hour away; afterwards nothing
// reaches the sink and Submit is refused. ASan's leak check covers what was left behind.
void TestStopWithItemsPending() {
  Rig r(false);
  r.h.hold = true;
  std::vector<Spec> specs;
  for (uint32_t i = 0; i < 50; i++) specs.push_back(Spec{i});
  r.loop.Start(&r.h);
  CHECK(r.loop.Submit(specs.data(), specs.size()));
  auto until = std::chrono::steady_clock::now() + kBound;
  while (r.h.turns.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(r.h.turns.load() >= 2);  // it woke for the submission and holds it
  auto t0 = std::chrono::steady_clock::now();
  r.loop.Stop();
  CHECK(std::chrono::steady_clock::now() - t0 < kBound);
  CHECK(r.got.Batches().empty());
  Spec s{99};
  CHECK(!r.loop.Submit(&s, 1));
  r.loop.Stop();  // idempotent

  // With deadlines pending: one due in an hour.
  Rig d;
  Spec far{1, Now(CLOCK_MONOTONIC) + int64_t{kHourMs} * 1000000};
  CHECK(d.loop.Submit(&far, 1));
  until = std::chrono::steady_clock::now() + kBound;
  while (d.h.turns.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  d.loop.Stop();
  CHECK(d.got.Batches().empty());

  // Never started, or never opened: Stop (and the destructor) must not hang or crash.
  EngineLoop<Spec, Outcome> idle;
  idle.Stop();
}

}  // namespace

int main() {
  TestDeadlineOrder();
  TestDeadlineRun();
  TestPushPicked();
  TestWakeOnSubmit();
  TestBatchDelivery();
  TestDeadlinesThroughTheLoop();
  TestReadiness();
  TestStopWithItemsPending();
  return check::Finish("engine_loop_test");
}
