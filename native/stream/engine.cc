// Stream engine: the thread, the submission queue, deadlines and result batches. What happens to
// one probe's socket is in stream/probe.cc.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "stream/engine_impl.h"

namespace sonde {

std::unique_ptr<StreamEngine> StreamEngine::Create(const StreamEngineOptions& opts, std::function<void()> on_ready,
                                                   std::string* error) {
  std::unique_ptr<StreamEngine> e(new StreamEngine());
  e->impl_ = std::make_unique<Impl>();
  Impl& m = *e->impl_;
  // Every slot can hold a socket: leave half of the descriptor limit to the rest of the process.
  rlimit rl{};
  uint64_t cap = opts.capacity == 0 ? 1 : opts.capacity;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && cap > rl.rlim_cur / 2) {
    cap = rl.rlim_cur / 2 > 16 ? rl.rlim_cur / 2 : 16;
  }
  m.capacity = static_cast<uint32_t>(cap);
  // Room for every slot, built only as they are first needed (Impl::Start): a Slot is ~300 bytes
  // with its buffers, and building 4,096 of them up front is 1.2 MB an idle daemon never uses.
  // Reserved once, never grown past: pointers and indices into it stay valid.
  m.slots.reserve(m.capacity);
  m.free_head = UINT32_MAX;
  m.heap.Init(&m.slots, m.capacity);
  m.qos.Configure(m.capacity, opts.qos);
  m.again.reserve(m.capacity);
  m.again_next.reserve(m.capacity);
  m.rbuf.resize(64 * 1024);
  m.on_ready = std::move(on_ready);
  m.ep = epoll_create1(EPOLL_CLOEXEC);
  m.ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (m.ep < 0 || m.ev < 0) {
    *error = std::string("stream engine: epoll/eventfd: ") + std::strerror(errno);
    if (m.ep >= 0) close(m.ep);
    if (m.ev >= 0) close(m.ev);
    return nullptr;
  }
  epoll_event ee{};
  ee.events = EPOLLIN;
  ee.data.u64 = kEventTag;
  epoll_ctl(m.ep, EPOLL_CTL_ADD, m.ev, &ee);
  m.thread = std::thread([&m] { m.Run(); });
  return e;
}

StreamEngine::~StreamEngine() { Stop(); }

bool StreamEngine::Submit(const StreamSpec& spec, const uint8_t* request, bool defer_wake) {
  Impl& m = *impl_;
  Impl::Queued q{spec, MonoNs() + static_cast<int64_t>(spec.timeout_ms) * 1000000};
  q.spec.qos = QosGate::Clamp(spec.qos);
  bool wake;
  {
    std::lock_guard<std::mutex> lock(m.in_mu);
    if (m.closed) return false;
    m.in_records++;
    if (m.in_class == -1) m.in_class = q.spec.qos;
    else if (m.in_class != q.spec.qos) m.in_class = -2;
    wake = m.TakeWake();  // an eventfd write only to a sleeping thread, once per sleep
    if (defer_wake) {
      m.wake_due = m.wake_due || wake;
      wake = false;
    }
    size_t off = m.in.size();
    m.in.resize(off + sizeof(q) + spec.request_len);
    std::memcpy(m.in.data() + off, &q, sizeof(q));
    if (spec.request_len) std::memcpy(m.in.data() + off + sizeof(q), request, spec.request_len);
  }
  m.n_submitted.fetch_add(1, std::memory_order_relaxed);
  if (wake) {
    uint64_t one = 1;
    ssize_t r = write(m.ev, &one, sizeof(one));
    (void)r;  // EAGAIN only when the counter is saturated, and then the thread is awake anyway
  }
  return true;
}

void StreamEngine::SetQos(const QosLimits& limits) {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.in_mu);
    if (m.closed) return;
    m.qos_in = limits;
    m.qos_due = true;
  }
  uint64_t one = 1;
  ssize_t r = write(m.ev, &one, sizeof(one));
  (void)r;
}

void StreamEngine::Flush() {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.in_mu);
    if (!m.wake_due) return;
    m.wake_due = false;
  }
  uint64_t one = 1;
  ssize_t r = write(m.ev, &one, sizeof(one));
  (void)r;  // EAGAIN only when the counter is saturated, and then the thread is awake anyway
}

void StreamEngine::Cancel(const uint32_t* ids, size_t n) {
  Impl& m = *impl_;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(m.in_mu);
    if (m.closed) return;
    wake = m.TakeWake();
    m.cancels_in.insert(m.cancels_in.end(), ids, ids + n);
  }
  if (wake) {
    uint64_t one = 1;
    ssize_t r = write(m.ev, &one, sizeof(one));
    (void)r;
  }
}

void StreamEngine::Take(StreamBatch* out) {
  Impl& m = *impl_;
  out->clear();
  m.notified.store(false);
  std::lock_guard<std::mutex> lock(m.out_mu);
  std::swap(*out, m.ready);
}

void StreamEngine::Stop() {
  if (!impl_) return;
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.in_mu);
    m.closed = true;
  }
  if (m.thread.joinable()) {
    m.stop.store(true);
    uint64_t one = 1;
    ssize_t r = write(m.ev, &one, sizeof(one));
    (void)r;
    m.thread.join();
  }
  for (Slot& s : m.slots) {
    if (s.fd >= 0) close(s.fd);
    s.fd = -1;
  }
  for (std::vector<int>* p : {&m.pool4, &m.pool6, &m.dpool4, &m.dpool6}) {
    for (int fd : *p) close(fd);
    p->clear();
  }
  for (PortMap* b : {&m.bound4, &m.bound6, &m.dbound4, &m.dbound6}) b->Drain([](int fd) { close(fd); });
  m.n_bound = 0;
  m.n_dbound = 0;
  m.CloseGateway();
  for (int fd : m.ready.handoffs) close(fd);  // never taken by JS
  m.ready.handoffs.clear();
  if (m.ep >= 0) close(m.ep);
  if (m.ev >= 0) close(m.ev);
  m.ep = m.ev = -1;
}

StreamCounters StreamEngine::Counters() const {
  const Impl& m = *impl_;
  StreamCounters c;
  c.submitted = m.n_submitted.load(std::memory_order_relaxed);
  c.completed = m.n_completed.load(std::memory_order_relaxed);
  c.timeouts = m.n_timeouts.load(std::memory_order_relaxed);
  c.refused = m.n_refused.load(std::memory_order_relaxed);
  c.errors = m.n_errors.load(std::memory_order_relaxed);
  c.draining = m.n_draining.load(std::memory_order_relaxed);
  c.active = c.submitted >= c.completed ? c.submitted - c.completed : 0;
  c.gateway_asked = m.n_gw_asked.load(std::memory_order_relaxed);
  c.gateway_handoffs = m.n_gw_handoffs.load(std::memory_order_relaxed);
  c.gateway_gone = m.n_gw_gone.load(std::memory_order_relaxed);
  c.gateway_head_timeouts = m.n_gw_head_timeouts.load(std::memory_order_relaxed);
  c.gateway_refused = m.limits ? m.limits->refused.load(std::memory_order_relaxed) : 0;
  c.cancelled = m.n_cancelled.load(std::memory_order_relaxed);
  c.rebound = m.n_rebound.load(std::memory_order_relaxed);
  for (int k = 0; k < kQosClasses; k++) {
    c.qos_started[k] = m.qos_counters.started[k].load(std::memory_order_relaxed);
    c.qos_shed[k] = m.qos_counters.shed[k].load(std::memory_order_relaxed);
    c.qos_waiting[k] = m.qos_counters.waiting[k].load(std::memory_order_relaxed);
    c.qos_held[k] = m.qos_counters.held[k].load(std::memory_order_relaxed);
  }
  return c;
}

uint32_t StreamEngine::capacity() const { return impl_->capacity; }

void StreamEngine::Impl::Run() {
  epoll_event events[256];
  while (!stop.load(std::memory_order_relaxed)) {
    int timeout = -1;
    if (!again.empty()) {
      timeout = 0;
    } else {
      // The next deadline: a probe's, or that of a submission waiting for its class's share.
      int64_t next = FirstQueuedDeadline();
      if (!heap.empty() && slots[heap.top()].deadline < next) next = slots[heap.top()].deadline;
      if (next != INT64_MAX) {
        int64_t wait = next - MonoNs();
        // Round up to whole milliseconds: waking early would only spin until the deadline.
        timeout = wait <= 0 ? 0 : static_cast<int>((wait + 999999) / 1000000);
      }
    }
    if (conns_open > 0 && (timeout < 0 || timeout > 1000)) timeout = 1000;  // SweepIdle's turn
    if (accept_paused_until != 0 && (timeout < 0 || timeout > 100)) timeout = 100;  // ResumeAccept's
    // Submitters write the eventfd only to a thread that is about to sleep (TakeWake): what came
    // while it was awake is taken here, and the flag is set under the same lock that checks it.
    bool input = false;
    {
      std::lock_guard<std::mutex> lock(in_mu);
      input = !in.empty() || !answers_in.empty() || !cancels_in.empty();
      if (input) timeout = 0;
      else if (timeout != 0) asleep = true;
    }
    int n = epoll_wait(ep, events, 256, timeout);
    if (n < 0 && errno != EINTR) break;
    if (input) Intake(false);
    else if (timeout != 0) {
      std::lock_guard<std::mutex> lock(in_mu);
      asleep = false;
    }
    for (int i = 0; i < n; i++) {
      uint64_t tag = events[i].data.u64;
      if (tag == kEventTag) {
        Intake(true);
        continue;
      }
      if (tag == kListenTag) {
        OnAccept();
        continue;
      }
      uint32_t idx = static_cast<uint32_t>(tag);
      if (idx == kDgramIndex) {
        OnDatagramEvent(static_cast<uint32_t>(tag >> 32), events[i].events);
        continue;
      }
      if (idx & kConnBit) {
        idx &= ~kConnBit;
        if (idx < conns.size() && conns[idx].busy && conns[idx].gen == static_cast<uint32_t>(tag >> 32)) {
          OnConnEvent(idx, events[i].events);
        }
        continue;
      }
      if (idx < slots.size() && slots[idx].busy && slots[idx].gen == static_cast<uint32_t>(tag >> 32)) {
        OnEvent(idx, events[i].events);
      }
    }
    // Sockets that still had data: read them again now that everyone else had a turn.
    again_next.swap(again);
    again.clear();
    for (uint64_t tag : again_next) {
      uint32_t idx = static_cast<uint32_t>(tag);
      if (slots[idx].busy && slots[idx].gen == static_cast<uint32_t>(tag >> 32)) OnEvent(idx, EPOLLIN);
    }
    again_next.clear();
    int64_t now = MonoNs();
    Expire(now);
    if (conns_open > 0) SweepIdle(now);
    ResumeAccept(now);
    StartQueued();
    Publish();
  }
}

void StreamEngine::Impl::Intake(bool signalled) {
  if (signalled) {
    uint64_t count;
    ssize_t r = read(ev, &count, sizeof(count));
    (void)r;
  }
  {
    std::lock_guard<std::mutex> lock(in_mu);
    answers.swap(answers_in);
    cancels.swap(cancels_in);
    if (qos_due) {
      qos.Configure(capacity, qos_in);  // slots held stay counted: only the limits change
      qos_due = false;
    }
    if (!in.empty()) {
      IntakeLocked();
    }
  }
  TakeAnswers();
  if (!cancels.empty()) TakeCancels();
}

// Cancelled probes end now with ECANCELED: a running one closes its socket and frees its slot; a
// queued one is delivered at once and its record left for StartQueued to skip (it may sit behind
// probes waiting for a slot). Cancels are rare (a /probe client that left): a scan of the slots
// and the queue costs less than an index kept for every probe.
void StreamEngine::Impl::TakeCancels() {
  int64_t now = MonoNs();
  for (uint32_t id : cancels) {
    bool found = false;
    for (Slot& s : slots) {
      if (s.busy && !s.draining && s.id == id) {
        Fail(s, ECANCELED, now);
        found = true;
        break;
      }
    }
    if (found) {
      n_cancelled.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    for (ByteFifo& f : queues) {
      for (size_t off = 0; !found && off + sizeof(Queued) <= f.bytes();) {
        Queued q;
        std::memcpy(&q, f.at(off), sizeof(q));
        if (q.spec.id == id && q.deadline != kCancelledDeadline) {
          QueuedOutcome(q, ECANCELED, StreamPhase::kQueued);
          q.deadline = kCancelledDeadline;
          std::memcpy(f.at(off), &q, sizeof(q));
          n_cancelled.fetch_add(1, std::memory_order_relaxed);
          found = true;
        }
        off += sizeof(q) + q.spec.request_len;
      }
      if (found) break;
    }
  }
  cancels.clear();
}

// A submission that ends without a slot: its outcome, now.
void StreamEngine::Impl::QueuedOutcome(const Queued& q, int err, StreamPhase phase) {
  StreamOutcome o{};
  o.id = q.spec.id;
  o.err = err;
  o.phase = phase;
  o.version_minor = 255;
  o.content_length = -1;
  o.t_done = MonoNs();
  Deliver(o, nullptr);
  n_completed.fetch_add(1, std::memory_order_relaxed);
}

// Its class's queue is past the bound: it ends at once (TypeScript makes it a shed result).
void StreamEngine::Impl::Shed(const Queued& q) {
  QueuedOutcome(q, ENOBUFS, StreamPhase::kShed);
  qos_counters.shed[q.spec.qos].fetch_add(1, std::memory_order_relaxed);
}

void StreamEngine::Impl::CountWaiting() {
  for (int k = 0; k < kQosClasses; k++) qos_counters.waiting[k].store(queues[k].records(), std::memory_order_relaxed);
}

// The earliest deadline at the head of a class queue (INT64_MAX: none): a class kept waiting by
// its share still has its submissions time out at their deadline.
int64_t StreamEngine::Impl::FirstQueuedDeadline() {
  int64_t next = INT64_MAX;
  for (ByteFifo& f : queues) {
    if (f.empty()) continue;
    Queued q;
    std::memcpy(&q, f.front(), sizeof(q));
    if (q.deadline != kCancelledDeadline && q.deadline < next) next = q.deadline;
  }
  return next;
}

// Sorts the submissions into their class's queue; past its bound a lower class's submission is shed.
void StreamEngine::Impl::IntakeLocked() {
  size_t n = in_records;
  int cls = in_class;
  in_records = 0;
  in_class = -1;
  // The common case: one class per batch, its queue empty and the batch within its bound: the
  // buffer is taken whole (no copy, and both buffers keep their capacity).
  if (cls >= 0 && n > 0 && !qos.Sheds(static_cast<uint8_t>(cls), n - 1) && queues[cls].TakeWhole(&in, n)) {
    in.clear();
    CountWaiting();
    return;
  }
  for (size_t off = 0; off + sizeof(Queued) <= in.size();) {
    Queued q;
    std::memcpy(&q, in.data() + off, sizeof(q));
    size_t len = sizeof(q) + q.spec.request_len;
    ByteFifo& f = queues[q.spec.qos];
    if (qos.Sheds(q.spec.qos, f.records())) Shed(q);
    else f.Append(in.data() + off, len);
    off += len;
  }
  in.clear();
  CountWaiting();
}

// Free slots go to the waiting submissions class by class (critical and /probe first), each class
// within its share (QosGate); in a class, in submission order.
void StreamEngine::Impl::StartQueued() {
  int64_t now = MonoNs();
  bool any = false;
  for (uint8_t cls : kQosStartOrder) {
    ByteFifo& f = queues[cls];
    while (!f.empty()) {
      Queued q;
      std::memcpy(&q, f.front(), sizeof(q));
      size_t len = sizeof(q) + q.spec.request_len;
      if (q.deadline == kCancelledDeadline) {
        f.Pop(len);  // cancelled in the queue: delivered already
      } else if (q.deadline <= now) {
        // Its whole timeout went by in the queue: every slot (or its class's share) was busy.
        QueuedOutcome(q, ETIMEDOUT, StreamPhase::kQueued);
        n_timeouts.fetch_add(1, std::memory_order_relaxed);
        f.Pop(len);
      } else if (SlotFree() && qos.MayStart(cls)) {
        Start(q.spec, f.front() + sizeof(q), q.deadline);  // copies the request before the Pop
        f.Pop(len);
      } else {
        break;
      }
      any = true;
    }
  }
  if (any) CountWaiting();
}

void StreamEngine::Impl::Expire(int64_t now) {
  while (!heap.empty() && slots[heap.top()].deadline <= now) TimedOut(slots[heap.top()], now);
}

void StreamEngine::Impl::Deliver(const StreamOutcome& o, const char* head) {
  StreamOutcome copy = o;
  copy.head_off = static_cast<uint32_t>(local.heads.size());
  if (o.head_len) local.heads.insert(local.heads.end(), head, head + o.head_len);
  local.outcomes.push_back(copy);
}

void StreamEngine::Impl::Publish() {
  if (local.empty()) return;
  {
    std::lock_guard<std::mutex> lock(out_mu);
    if (ready.empty()) {
      ready.clear();
      std::swap(ready, local);
    } else {
      // JS has not taken the last batch yet: append, rebasing the head offsets.
      uint32_t base = static_cast<uint32_t>(ready.heads.size());
      for (StreamOutcome o : local.outcomes) {
        o.head_off += base;
        ready.outcomes.push_back(o);
      }
      ready.heads.insert(ready.heads.end(), local.heads.begin(), local.heads.end());
      ready.handoffs.insert(ready.handoffs.end(), local.handoffs.begin(), local.handoffs.end());
      for (GatewayAsk& a : local.asks) ready.asks.push_back(std::move(a));
      ready.gone.insert(ready.gone.end(), local.gone.begin(), local.gone.end());
    }
  }
  local.clear();
  if (!notified.exchange(true)) on_ready();
}

}  // namespace sonde
