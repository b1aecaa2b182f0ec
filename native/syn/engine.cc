#include "syn/engine.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "common/engine_io.h"
#include "syn/engine_impl.h"
#include "syn/socket.h"

namespace sonde {

// ---- AnsweredSet, SynRun, TxBatch

void AnsweredSet::Init(uint64_t n) {
  if (n <= kBitsetMax) {
    size_t words = static_cast<size_t>((n + 63) / 64);
    bits_.reset(new std::atomic<uint64_t>[words]);
    for (size_t i = 0; i < words; i++) bits_[i].store(0, std::memory_order_relaxed);
  }
}

bool AnsweredSet::TestAndSet(uint64_t i) {
  if (bits_) {
    uint64_t m = uint64_t{1} << (i & 63);
    return (bits_[i >> 6].fetch_or(m, std::memory_order_relaxed) & m) == 0;
  }
  std::lock_guard<std::mutex> lk(mu_);
  return set_.insert(i).second;
}

bool AnsweredSet::Test(uint64_t i) {
  if (bits_) return (bits_[i >> 6].load(std::memory_order_relaxed) >> (i & 63)) & 1;
  std::lock_guard<std::mutex> lk(mu_);
  return set_.count(i) != 0;
}

uint64_t SynRun::Hash(uint8_t family, const uint8_t* local, const uint8_t* target, uint16_t dport) const {
  uint8_t m[36];
  size_t n = family == 4 ? 4 : 16;
  std::memcpy(m, local, n);
  std::memcpy(m + n, target, n);
  m[2 * n] = static_cast<uint8_t>(dport >> 8);
  m[2 * n + 1] = static_cast<uint8_t>(dport);
  return SipHash24(key, m, 2 * n + 2);
}

SynCounters SynRun::Snapshot() const {
  SynCounters c;
  c.sent = sent;
  c.total = shard_total;
  c.received = received;
  c.validated = validated;
  c.foreign = foreign;
  c.duplicates = duplicates;
  c.open = open;
  c.closed = closed_ports;
  c.filtered = filtered;
  return c;
}

void TxBatch::Init(int sock) {
  fd = sock;
  bufs.resize(kSize);
  msgs.resize(kSize);
  iov.resize(kSize);
  addrs.resize(kSize);
  owner.resize(kSize);
}

void TxBatch::Commit(size_t len, int family, const uint8_t* dst, SynRun* run) {
  size_t i = count++;
  iov[i] = iovec{bufs[i].data(), len};
  msgs[i] = mmsghdr{};
  msgs[i].msg_hdr.msg_name = &addrs[i];
  msgs[i].msg_hdr.msg_namelen = FillSockaddr(family, dst, 0, &addrs[i]);
  msgs[i].msg_hdr.msg_iov = &iov[i];
  msgs[i].msg_hdr.msg_iovlen = 1;
  owner[i] = run;
}

bool TxBatch::Flush(std::atomic<uint64_t>* errors) {
  while (head < count) {
    int r = sendmmsg(fd, &msgs[head], static_cast<unsigned>(count - head), MSG_DONTWAIT);
    if (r > 0) {
      for (size_t i = head; i < head + static_cast<size_t>(r); i++)
        if (owner[i] != nullptr) owner[i]->sent.fetch_add(1, std::memory_order_relaxed);
      head += static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)) return false;
    (*errors)++;  // EPERM (a local firewall), ENETUNREACH...: this datagram is lost, the rest goes on
    head++;
  }
  head = count = 0;
  return true;
}

// ---- source ports

namespace {

bool EphemeralRange(int* lo, int* hi) {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  return static_cast<bool>(f >> *lo >> *hi);
}

}  // namespace

bool DefaultSourcePorts(uint16_t* lo, uint16_t* hi, std::string* error) {
  int elo = 32768, ehi = 60999;
  EphemeralRange(&elo, &ehi);
  if (ehi + 1000 <= 65535) {
    *lo = static_cast<uint16_t>(ehi + 1);
    *hi = static_cast<uint16_t>(ehi + 1000);
    return true;
  }
  if (elo - 1000 >= 1024) {
    *lo = static_cast<uint16_t>(elo - 1000);
    *hi = static_cast<uint16_t>(elo - 1);
    return true;
  }
  *error = "no 1000 source ports outside the kernel's ephemeral range (net.ipv4.ip_local_port_range " + std::to_string(elo) + " " +
           std::to_string(ehi) + "): give sourcePorts";
  return false;
}

bool CheckSourcePorts(uint16_t lo, uint16_t hi, std::string* error) {
  int elo = 0, ehi = -1;
  if (lo < 1 || hi < lo) {
    *error = "sourcePorts must be 1..65535 with lo <= hi";
    return false;
  }
  if (EphemeralRange(&elo, &ehi) && lo <= ehi && hi >= elo) {
    *error = "sourcePorts " + std::to_string(lo) + "-" + std::to_string(hi) + " overlap the kernel's ephemeral range " +
             std::to_string(elo) + "-" + std::to_string(ehi) +
             " (net.ipv4.ip_local_port_range): this host's own connections would lose their SYN-ACKs to the scan's guard";
    return false;
  }
  return true;
}

// ---- the guard and the receive filter follow the ports of the running runs

bool SynEngine::Impl::ApplyPorts(std::string* error) {
  std::vector<std::pair<uint16_t, uint16_t>> merged;
  for (auto& [r, n] : port_refs) {
    (void)n;
    if (!merged.empty() && r.first <= merged.back().second + 1) merged.back().second = std::max(merged.back().second, r.second);
    else merged.push_back(r);
  }
  if (!guard.Apply(merged, error)) return false;
  uint16_t lo = merged.empty() ? 1 : merged.front().first, hi = merged.empty() ? 0 : merged.back().second;
  return SetSynReceiverPorts(rx_fd, lo, hi) || (error && (*error = "SO_ATTACH_FILTER failed", false));
}

bool SynEngine::Impl::AcquirePorts(uint16_t lo, uint16_t hi, std::string* error) {
  std::lock_guard<std::mutex> lk(ports_mu);
  if (port_refs[{lo, hi}]++ > 0) return true;
  if (ApplyPorts(error)) return true;
  port_refs.erase({lo, hi});
  std::string ignored;
  ApplyPorts(&ignored);
  return false;
}

void SynEngine::Impl::ReleasePorts(uint16_t lo, uint16_t hi) {
  std::lock_guard<std::mutex> lk(ports_mu);
  auto it = port_refs.find({lo, hi});
  if (it == port_refs.end() || --it->second > 0) return;
  port_refs.erase(it);
  std::string ignored;
  ApplyPorts(&ignored);
}

// ---- runs on the loop thread

void SynEngine::Impl::Begin(const std::shared_ptr<SynRun>& run, int64_t now) {
  run->start_mono = run->last_refill = run->pass_start = now;
  run->deadline_mono = run->spec.max_runtime_ms ? now + static_cast<int64_t>(run->spec.max_runtime_ms) * 1000000 : INT64_MAX;
  if (run->deadline_mono != INT64_MAX) loop.Schedule(run->deadline_mono, run->id, 0);
  run->pos = run->spec.shard_index;
  run->tokens = 1;
  // 20 ms of tokens at most: a turn that comes late (a loaded machine) catches up that much, and
  // no window longer than that sees more than rate × (window + 20 ms).
  run->burst = std::max(1.0, run->spec.rate * 0.02);
  active.push_back(run);
}

void SynEngine::Impl::Finish(SynRun& run, bool truncated, int64_t now) {
  if (run.phase == SynRun::kSend) run.send_ns += now - run.pass_start;
  run.phase = SynRun::kDone;
  auto s = std::make_shared<SynSummary>();
  s->counters = run.Snapshot();
  s->seconds = static_cast<double>(now - run.start_mono) / 1e9;
  double send_s = static_cast<double>(run.send_ns) / 1e9;
  s->packets_per_second = send_s > 0 ? static_cast<double>(s->counters.sent) / send_s : 0;
  s->truncated = truncated;
  SynOutcome o;
  o.run = run.id;
  o.summary = s;
  {
    std::lock_guard<std::mutex> lk(out_mu);
    run.closed = true;
    outbox.push_back(std::move(o));
    FlushOutbox();
  }
  {
    std::lock_guard<std::mutex> lk(runs_mu);
    runs.erase(run.id);
    runs_version++;
  }
  ReleasePorts(run.spec.sport_lo, run.spec.sport_hi);
}

void SynEngine::Impl::Step(SynRun& run, int64_t now) {
  if (run.stop_requested.load(std::memory_order_relaxed)) return Finish(run, true, now);
  if ((run.phase == SynRun::kSend || run.phase == SynRun::kGap) && now >= run.deadline_mono) return Finish(run, true, now);
  if (run.phase == SynRun::kGap && now >= run.phase_end) {
    run.phase = SynRun::kSend;
    run.pass++;
    run.pos = run.spec.shard_index;
    run.last_refill = run.pass_start = now;
    run.tokens = 1;
  }
  if (run.phase == SynRun::kWait && (now >= run.phase_end || now >= run.deadline_mono)) {
    if (!run.spec.all_states) return Finish(run, false, now);
    run.phase = SynRun::kSilent;
    run.silent_pos = run.spec.shard_index;
  }
  if (run.phase == SynRun::kSilent) {
    ReportSilent(run);
    if (run.silent_pos >= run.space.size()) Finish(run, false, now);
  }
}

// The pairs that stayed silent through every pass: filtered, no-response. Bounded per turn.
void SynEngine::Impl::ReportSilent(SynRun& run) {
  std::vector<SynOutcome> hits;
  std::vector<SynRun*> owners;
  uint64_t n = run.space.size(), k = run.spec.shard_count;
  for (int i = 0; i < 65536 && run.silent_pos < n; i++, run.silent_pos += k) {
    uint64_t idx = run.perm->Forward(run.silent_pos);
    if (!run.answered.TestAndSet(idx)) continue;
    SynOutcome o;
    o.run = run.id;
    run.space.At(idx, &o.family, o.addr, &o.port);
    o.state = SynState::kFiltered;
    o.reason = SynReason::kNoResponse;
    run.filtered++;
    hits.push_back(o);
    owners.push_back(&run);
  }
  Deliver(hits, owners, true);
}

void SynEngine::Impl::SendRun(SynRun& run, int64_t now) {
  run.tokens = std::min(run.burst, run.tokens + run.spec.rate * static_cast<double>(now - run.last_refill) / 1e9);
  run.last_refill = now;
  uint64_t n = run.space.size(), k = run.spec.shard_count;
  int64_t wall = Now(CLOCK_REALTIME);
  for (int budget = 1 << 16; budget > 0 && run.tokens >= 1; budget--) {
    if (run.pos >= n) {
      run.send_ns += now - run.pass_start;
      run.phase = run.pass < run.spec.retries ? SynRun::kGap : SynRun::kWait;
      run.phase_end = now + static_cast<int64_t>(run.spec.wait_ms) * 1000000;
      loop.Schedule(run.phase_end, run.id, 0);
      return;
    }
    uint64_t p = run.pos;
    run.pos += k;
    uint64_t idx = run.perm->Forward(p);
    if (run.pass > 0 && run.answered.Test(idx)) continue;  // answered: a retry pass skips it, no token spent
    uint8_t family, dst[16];
    uint16_t dport;
    run.space.At(idx, &family, dst, &dport);
    int f = family == 4 ? 0 : 1;
    TxBatch& b = tx[f];
    if (b.full() && !b.Flush(&send_errors)) {
      blocked = true;
      run.pos = p;  // this one again next turn
      return;
    }
    uint64_t h = run.Hash(family, run.src[f], dst, dport);
    SynPacket pkt;
    pkt.family = family;
    pkt.src = run.src[f];
    pkt.dst = dst;
    pkt.sport = run.SourcePort(h);
    pkt.dport = dport;
    pkt.seq = static_cast<uint32_t>(h);
    pkt.ip_id = static_cast<uint16_t>(h >> 16);
    size_t len = BuildTcpSyn(b.Next(), kSynMaxLen, pkt);
    b.Commit(len, family, dst, &run);
    run.tokens -= 1;
    uint64_t block = (p / k) >> SynRun::kBlockShift;
    size_t slot = block & (SynRun::kRing - 1);
    if (run.ring_block[slot].load(std::memory_order_relaxed) != block + 1) {
      run.ring_time[slot].store(wall, std::memory_order_relaxed);
      run.ring_block[slot].store(block + 1, std::memory_order_release);
    } else if (run.pass > 0) {
      run.ring_time[slot].store(wall, std::memory_order_relaxed);
    }
  }
}

int SynEngine::Impl::BeforeWait() {
  if (blocked) return 1;
  int wait = LoopCore::kIdle;
  for (auto& r : active) {
    if (r->phase == SynRun::kSilent) return LoopCore::kNoWait;
    if (r->phase != SynRun::kSend) continue;
    double need = (1 - r->tokens) / r->spec.rate * 1000;
    int ms = need <= 0 ? 0 : static_cast<int>(std::ceil(need));
    wait = wait == LoopCore::kIdle ? ms : std::min(wait, ms);
  }
  return wait;
}

void SynEngine::Impl::Send() {
  int64_t now = Now(CLOCK_MONOTONIC);
  auto& q = loop.pending();
  for (; q.left() > 0; q.Consume(1)) {
    if (q[0].run) Begin(q[0].run, now);
  }
  blocked = !tx[0].Flush(&send_errors) || !tx[1].Flush(&send_errors);
  if (!blocked) {
    for (auto& r : active) {
      if (r->phase == SynRun::kSend && !r->stop_requested) SendRun(*r, now);
      if (blocked) break;
    }
    if (!blocked) blocked = !tx[0].Flush(&send_errors) || !tx[1].Flush(&send_errors);
  }
  for (auto& r : active) Step(*r, now);
  active.erase(std::remove_if(active.begin(), active.end(), [](const std::shared_ptr<SynRun>& r) { return r->phase == SynRun::kDone; }),
               active.end());
}

void SynEngine::Impl::Deliver(std::vector<SynOutcome>& hits, std::vector<SynRun*>& owners, bool flush) {
  std::lock_guard<std::mutex> lk(out_mu);
  for (size_t i = 0; i < hits.size(); i++) {
    if (!owners[i]->closed) outbox.push_back(hits[i]);  // a closed run's summary went out: nothing after it
  }
  hits.clear();
  owners.clear();
  if (flush || outbox.size() >= 4096) FlushOutbox();
}

void SynEngine::Impl::FlushOutbox() {
  if (outbox.empty() || !sink) return;
  std::vector<SynOutcome> batch;
  batch.swap(outbox);
  outbox.reserve(1024);
  sink(std::move(batch));
}

// ---- the engine

std::unique_ptr<SynEngine> SynEngine::Create(SynSink sink, std::string* error) {
  std::unique_ptr<SynEngine> e(new SynEngine());
  e->impl_ = std::make_unique<Impl>();
  Impl* p = e->impl_.get();
  p->sink = std::move(sink);
  if (!p->loop.Open(error)) return nullptr;
  p->rx_fd = OpenSynReceiver(1, 0, error);
  if (p->rx_fd < 0) return nullptr;
  for (int f = 0; f < 2; f++) {
    p->tx_fd[f] = OpenRawSender(f == 0 ? 4 : 6);
    p->rst_fd[f] = OpenRawSender(f == 0 ? 4 : 6);
    if (f == 0 && (p->tx_fd[0] < 0 || p->rst_fd[0] < 0)) {
      *error = std::string("the SYN scan needs raw sockets (CAP_NET_RAW): ") + std::strerror(errno);
      return nullptr;
    }
    p->tx[f].Init(p->tx_fd[f]);  // IPv6 may be off on the host: its sends then fail, IPv4 works
  }
  p->loop.Start(p);
  p->rx_thread = std::thread([p] { p->ReceiveLoop(); });
  return e;
}

uint32_t SynEngine::Start(const SynRunSpec& spec, std::string* error) {
  auto run = std::make_shared<SynRun>();
  run->spec = spec;
  SynRunSpec& s = run->spec;
  if (!(s.rate > 0) || !std::isfinite(s.rate)) return *error = "rate must be a positive number of packets per second", 0;
  if (s.shard_count < 1 || s.shard_index >= s.shard_count) return *error = "shard index must be below the shard count", 0;
  if (!run->space.Init(s.runs, s.ports, error)) return 0;
  if (s.sport_lo == 0 && s.sport_hi == 0) {
    if (!DefaultSourcePorts(&s.sport_lo, &s.sport_hi, error)) return 0;
  } else if (!CheckSourcePorts(s.sport_lo, s.sport_hi, error)) {
    return 0;
  }
  for (int f = 0; f < 2; f++) {
    const SpaceRun* first = nullptr;
    for (const SpaceRun& r : s.runs)
      if (r.family == (f == 0 ? 4 : 6)) {
        first = &r;
        break;
      }
    if (first == nullptr) continue;
    if (f == 0 ? s.has_src4 : s.has_src6) {
      std::memcpy(run->src[f], f == 0 ? s.src4 : s.src6, 16);
    } else {
      int err = 0;
      if (!RouteSource(f == 0 ? 4 : 6, first->first, run->src[f], &err))
        return *error = std::string("no route towards the scan's IPv") + (f == 0 ? "4" : "6") + " targets: " + std::strerror(err), 0;
    }
    if (impl_->tx_fd[f] < 0) return *error = "IPv6 raw sockets are not available on this host", 0;
    run->has_src[f] = true;
  }
  run->perm = std::make_unique<Permutation>(run->space.size(), s.seed);
  // The cookie's key: from the seed and the run, so runs sharing a seed still tell their replies apart.
  {
    std::lock_guard<std::mutex> lk(impl_->runs_mu);
    run->id = impl_->next_id++;
  }
  run->key.k0 = Mix64(s.seed ^ 0x636f6f6b69653130ull) ^ Mix64(run->id);
  run->key.k1 = Mix64(s.seed + 0x6b657931ull) ^ Mix64(static_cast<uint64_t>(getpid()) << 32 | run->id);
  uint64_t n = run->space.size();
  run->shard_total = s.shard_index < n ? (n - s.shard_index + s.shard_count - 1) / s.shard_count : 0;
  run->answered.Init(n);
  run->ring_block.reset(new std::atomic<uint64_t>[SynRun::kRing]);
  run->ring_time.reset(new std::atomic<int64_t>[SynRun::kRing]);
  for (size_t i = 0; i < SynRun::kRing; i++) {
    run->ring_block[i].store(0, std::memory_order_relaxed);
    run->ring_time[i].store(0, std::memory_order_relaxed);
  }
  if (!impl_->AcquirePorts(s.sport_lo, s.sport_hi, error)) return 0;
  {
    std::lock_guard<std::mutex> lk(impl_->runs_mu);
    impl_->runs[run->id] = run;
    impl_->runs_version++;
  }
  SynCommand c{run};
  if (!impl_->loop.Submit(&c, 1)) {
    impl_->ReleasePorts(s.sport_lo, s.sport_hi);
    return *error = "the SYN engine is closed", 0;
  }
  return run->id;
}

void SynEngine::StopRun(uint32_t id) {
  {
    std::lock_guard<std::mutex> lk(impl_->runs_mu);
    auto it = impl_->runs.find(id);
    if (it == impl_->runs.end()) return;
    it->second->stop_requested = true;
  }
  SynCommand wake{};
  impl_->loop.Submit(&wake, 1);
}

bool SynEngine::Counters(uint32_t id, SynCounters* out) const {
  std::lock_guard<std::mutex> lk(impl_->runs_mu);
  auto it = impl_->runs.find(id);
  if (it == impl_->runs.end()) return false;
  *out = it->second->Snapshot();
  return true;
}

uint64_t SynEngine::send_errors() const { return impl_->send_errors; }

void SynEngine::Stop() {
  if (!impl_) return;
  impl_->loop.Stop();
  impl_->rx_stop = true;
  if (impl_->rx_thread.joinable()) impl_->rx_thread.join();
  {
    std::lock_guard<std::mutex> lk(impl_->ports_mu);
    impl_->port_refs.clear();
    impl_->guard.Remove();
  }
  for (int* fd : {&impl_->rx_fd, &impl_->tx_fd[0], &impl_->tx_fd[1], &impl_->rst_fd[0], &impl_->rst_fd[1]}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

SynEngine::~SynEngine() { Stop(); }

}  // namespace sonde
