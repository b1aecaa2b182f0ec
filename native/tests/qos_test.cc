// Unit tests of QoS admission at the engines' doors (common/qos.h) and of the stream engine's use of
// it (stream/engine.cc): nested shares, the start order, the queue bound and its shed outcome.
// Run by `make -C native/tests qos-unit`. The engine part probes 127.0.0.1 only, a listener whose
// accept queue is full: the kernel drops the SYNs (tcp_conn_request, sk_acceptq_is_full), so every
// probe holds its slot until it is cancelled. No timing assumption: the test waits for counters
// with a bound no machine reaches.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "check.h"
#include "common/qos.h"
#include "stream/engine.h"

using namespace sonde;

namespace {

constexpr auto kBound = std::chrono::seconds(60);

void GateShares() {
  QosGate g;
  QosLimits l;
  l.best_effort_share = 0.5;
  l.standard_share = 0.75;
  l.queue_bound = 3;
  g.Configure(8, l);
  CHECK(g.best_effort_cap() == 4);
  CHECK(g.standard_cap() == 6);
  // best_effort alone: at most half.
  for (int i = 0; i < 4; i++) {
    CHECK(g.MayStart(kQosBestEffort));
    g.Take(kQosBestEffort);
  }
  CHECK(!g.MayStart(kQosBestEffort));
  // standard shares its 6 with best_effort's 4.
  CHECK(g.MayStart(kQosStandard));
  g.Take(kQosStandard);
  g.Take(kQosStandard);
  CHECK(!g.MayStart(kQosStandard));
  // critical and /probe keep the rest, whatever the lower classes hold.
  CHECK(g.MayStart(kQosCritical));
  g.Take(kQosCritical);
  CHECK(g.MayStart(kQosProbe));
  g.Take(kQosProbe);
  CHECK(!g.MayStart(kQosCritical));  // every slot taken
  CHECK(!g.MayStart(kQosProbe));
  // The queue bound sheds the lower classes only.
  CHECK(!g.Sheds(kQosBestEffort, 2));
  CHECK(g.Sheds(kQosBestEffort, 3));
  CHECK(g.Sheds(kQosStandard, 3));
  CHECK(!g.Sheds(kQosCritical, 1000000));
  CHECK(!g.Sheds(kQosProbe, 1000000));
  // A best_effort probe ending gives its slot back to best_effort (and to standard: nested).
  g.Release(kQosBestEffort);
  CHECK(g.MayStart(kQosBestEffort));
  CHECK(g.MayStart(kQosStandard));
  CHECK(g.held(kQosBestEffort) == 3);
  // The bound counts what would wait once the probes that can start now have: one may start.
  CHECK(g.Room(kQosBestEffort) == 1 && g.Room(kQosStandard) == 1 && g.Room(kQosCritical) == 1);
  CHECK(!g.Sheds(kQosBestEffort, 3));
  CHECK(g.Sheds(kQosBestEffort, 4));
  // Unknown classes count as standard; releasing below zero is ignored.
  CHECK(QosGate::Clamp(200) == kQosStandard);
  QosGate z;
  z.Configure(4, l);
  z.Release(kQosCritical);
  CHECK(z.held(kQosCritical) == 0);
  CHECK(z.MayStart(kQosCritical));
}

void GateTiny() {
  // A share never rounds to nothing: an engine of one slot still runs every class.
  QosGate g;
  QosLimits l;
  l.best_effort_share = 0.1;
  l.standard_share = 0.2;
  g.Configure(1, l);
  CHECK(g.best_effort_cap() == 1);
  CHECK(g.MayStart(kQosBestEffort));
  // A best_effort share above the standard one is held to it.
  l.best_effort_share = 0.9;
  l.standard_share = 0.5;
  g.Configure(10, l);
  CHECK(g.best_effort_cap() == 5);
}

void Fifos() {
  Fifo<int> f;
  for (int i = 0; i < 10000; i++) f.Push(i);
  CHECK(f.size() == 10000);
  for (int i = 0; i < 9000; i++) {
    CHECK(f.front() == i);
    f.Pop();
  }
  CHECK(f.size() == 1000 && f.front() == 9000 && f[1] == 9001);
  f.Consume(1000);
  CHECK(f.empty());

  ByteFifo b;
  const uint8_t a[3] = {1, 2, 3}, c[2] = {4, 5};
  b.Append(a, 3);
  b.Append(c, 2);
  CHECK(b.records() == 2 && b.bytes() == 5 && b.front()[0] == 1 && b.at(3)[0] == 4);
  b.Pop(3);
  CHECK(b.records() == 1 && b.front()[0] == 4);
  std::vector<uint8_t> in = {9, 9, 9};
  CHECK(!b.TakeWhole(&in, 1));  // not empty: records must go behind, copied
  b.Pop(2);
  CHECK(b.empty() && b.bytes() == 0);
  CHECK(b.TakeWhole(&in, 1));
  CHECK(b.records() == 1 && b.bytes() == 3 && in.empty());
}

// The stream engine with a small table, against a listener that never completes a handshake.
class Engine {
 public:
  explicit Engine(const QosLimits& l) {
    StreamEngineOptions o;
    o.capacity = 8;
    o.qos = l;
    std::string err;
    e_ = StreamEngine::Create(o, [this] {
      std::lock_guard<std::mutex> lk(mu_);
      ready_ = true;
      cv_.notify_all();
    }, &err);
    CHECK(e_ != nullptr);
  }
  StreamEngine& operator*() { return *e_; }
  StreamEngine* operator->() { return e_.get(); }
  // Waits until pred holds over the counters, taking outcomes meanwhile; false past the bound.
  bool WaitFor(const std::function<bool(const StreamCounters&)>& pred) {
    auto until = std::chrono::steady_clock::now() + kBound;
    while (std::chrono::steady_clock::now() < until) {
      Drain();
      if (pred(e_->Counters())) return true;
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(10), [this] { return ready_; });
    }
    return false;
  }
  void Drain() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      ready_ = false;
    }
    StreamBatch b;
    e_->Take(&b);
    outcomes.insert(outcomes.end(), b.outcomes.begin(), b.outcomes.end());
  }
  std::vector<StreamOutcome> outcomes;

 private:
  std::unique_ptr<StreamEngine> e_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false;
};

// A loopback listener whose accept queue is full (backlog 0, one connection never accepted).
struct Blackhole {
  int lfd = -1, cfd = -1;
  uint16_t port = 0;
  Blackhole() {
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    CHECK(listen(lfd, 0) == 0);
    socklen_t len = sizeof(a);
    getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(connect(cfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  }
  ~Blackhole() {
    close(cfd);
    close(lfd);
  }
};

uint32_t Submit(Engine& e, uint16_t port, uint32_t first, int n, uint8_t qos) {
  for (int i = 0; i < n; i++) {
    StreamSpec s;
    s.id = first + static_cast<uint32_t>(i);
    s.family = 4;
    s.port = port;
    s.addr[0] = 127;
    s.addr[3] = 1;
    s.timeout_ms = 3600 * 1000;
    s.qos = qos;
    CHECK(e->Submit(s, nullptr, true));
  }
  e->Flush();
  return first + static_cast<uint32_t>(n);
}

void StreamReservation() {
  Blackhole hole;
  QosLimits l;
  l.best_effort_share = 0.5;  // 4 of 8 slots
  l.standard_share = 0.75;    // 6 of 8, best_effort's included
  l.queue_bound = 100;
  Engine e(l);
  // A flood of best_effort work takes its share and no more; the rest waits in its queue.
  uint32_t id = Submit(e, hole.port, 1, 20, kQosBestEffort);
  // (the bound of 100 counts the waiting ones: 4 start, 16 wait, none is shed)
  CHECK(e.WaitFor([](const StreamCounters& c) { return c.qos_held[kQosBestEffort] == 4 && c.qos_waiting[kQosBestEffort] == 16; }));
  // Standard work gets what standard's share leaves: 2.
  id = Submit(e, hole.port, id, 10, kQosStandard);
  CHECK(e.WaitFor([](const StreamCounters& c) { return c.qos_held[kQosStandard] == 2 && c.qos_waiting[kQosStandard] == 8; }));
  // Critical and /probe work still finds room: the 2 slots the lower classes may never take.
  id = Submit(e, hole.port, id, 1, kQosCritical);
  id = Submit(e, hole.port, id, 1, kQosProbe);
  CHECK(e.WaitFor([](const StreamCounters& c) { return c.qos_held[kQosCritical] == 1 && c.qos_held[kQosProbe] == 1; }));
  StreamCounters c = e->Counters();
  CHECK(c.qos_held[kQosBestEffort] == 4 && c.qos_held[kQosStandard] == 2);
  CHECK(c.qos_shed[kQosBestEffort] == 0);

  // A freed slot goes to the highest class waiting: critical first, before any best_effort.
  id = Submit(e, hole.port, id, 2, kQosCritical);
  CHECK(e.WaitFor([](const StreamCounters& c) { return c.qos_waiting[kQosCritical] == 2; }));
  uint32_t be_first = 1;
  e->Cancel(&be_first, 1);  // a best_effort probe ends: its slot goes to critical work
  CHECK(e.WaitFor([](const StreamCounters& c) { return c.qos_held[kQosCritical] == 2 && c.qos_waiting[kQosCritical] == 1; }));
  CHECK(e->Counters().qos_held[kQosBestEffort] == 3);

  // Past the queue bound (set at run time), a lower class's submission ends at once: shed.
  l.queue_bound = 16;
  e->SetQos(l);
  size_t before = e.outcomes.size();
  id = Submit(e, hole.port, id, 3, kQosBestEffort);  // 16 waiting already
  CHECK(e.WaitFor([](const StreamCounters& c) { return c.qos_shed[kQosBestEffort] == 3; }));
  CHECK(e.WaitFor([&](const StreamCounters&) { return e.outcomes.size() >= before + 3; }));
  int shed = 0;
  for (const StreamOutcome& o : e.outcomes) {
    if (o.phase == StreamPhase::kShed) {
      shed++;
      CHECK(o.err == ENOBUFS);
      CHECK(o.id >= id - 3 && o.id < id);
    }
  }
  CHECK(shed == 3);
  // Critical work is never shed, whatever waits.
  id = Submit(e, hole.port, id, 40, kQosCritical);
  CHECK(e.WaitFor([](const StreamCounters& c) { return c.qos_waiting[kQosCritical] == 41; }));
  CHECK(e->Counters().qos_shed[kQosCritical] == 0);
  // Cancel everything: each submission has exactly one outcome (none lost, none twice).
  std::vector<uint32_t> all;
  for (uint32_t i = 1; i < id; i++) all.push_back(i);
  e->Cancel(all.data(), all.size());
  uint32_t n = id - 1;
  CHECK(e.WaitFor([&](const StreamCounters& c) { return c.active == 0 && e.outcomes.size() >= n; }));
  std::vector<int> seen(id, 0);
  for (const StreamOutcome& o : e.outcomes) {
    if (o.id < id) seen[o.id]++;
  }
  for (uint32_t i = 1; i < id; i++) CHECK(seen[i] == 1);
  c = e->Counters();
  for (int k = 0; k < kQosClasses; k++) CHECK(c.qos_held[k] == 0 && c.qos_waiting[k] == 0);
  e->Stop();
}

}  // namespace

int main() {
  GateShares();
  GateTiny();
  Fifos();
  StreamReservation();
  return check::Finish("qos_test");
}
