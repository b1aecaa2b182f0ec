#include "syn/engine.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/engine_io.h"
#include "syn/engine_impl.h"
#include "syn/route.h"
#include "syn/socket.h"

namespace sonde {

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
  for (int f = 0; f < 2; f++) {
    std::string ignored;  // without a ring, the packet socket's batches serve
    if (run->via_packet[f] && use_ring && !ring.open()) ring.Open(run->next_hop[f].sll_ifindex, &ignored);
  }
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
    bool on_ring = run.via_packet[f] && ring.open() && ring.ifindex() == run.next_hop[f].sll_ifindex;
    uint8_t* room = nullptr;
    if (on_ring && (room = ring.Next(run.next_hop[f].sll_addr, f == 0 ? ETH_P_IP : ETH_P_IPV6)) == nullptr) {
      ring.Flush();
      blocked = true;  // the kernel still holds every frame: next turn
      run.pos = p;
      return;
    }
    TxBatch& b = tx[run.via_packet[f] ? 2 : f];
    if (!on_ring && b.full() && !b.Flush(&send_errors)) {
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
    if (on_ring) {
      ring.Commit(BuildTcpSyn(room, TxRing::kMaxIp, pkt));
      run.sent.fetch_add(1, std::memory_order_relaxed);  // handed to the kernel with the next Flush
    } else {
      size_t len = BuildTcpSyn(b.Next(), kSynMaxLen, pkt);
      if (run.via_packet[f]) b.CommitLink(len, run.next_hop[f], &run);
      else b.Commit(len, family, dst, &run);
    }
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
  auto flush = [&] {
    return tx[0].Flush(&send_errors) && tx[1].Flush(&send_errors) && (tx[2].fd < 0 || tx[2].Flush(&send_errors)) && (!ring.open() || ring.Flush());
  };
  blocked = !flush();
  if (!blocked) {
    for (auto& r : active) {
      if (r->phase == SynRun::kSend && !r->stop_requested) SendRun(*r, now);
      if (blocked) break;
    }
    if (!blocked) blocked = !flush();
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
  const char* path = getenv("SONDE_SYN_SEND");  // raw: IP sockets only (to measure the alternatives)
  if (path == nullptr || std::string(path) != "raw") p->pkt_fd = OpenPacketSender();
  p->use_ring = path == nullptr || std::string(path) == "ring";
  p->tx[2].Init(p->pkt_fd);
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
    // The packet socket when all the family's targets share one resolved Ethernet next hop.
    NextHop hop;
    std::string why;
    if (impl_->pkt_fd >= 0 && LookupNextHop(f == 0 ? 4 : 6, first->first, &hop, &why)) {
      bool all = true;
      for (const SpaceRun& r : s.runs) {
        if (r.family != (f == 0 ? 4 : 6)) continue;
        uint8_t last[16];
        std::memcpy(last, r.first, 16);
        uint64_t add = r.count - 1;  // the last address: first + count - 1, carried byte by byte
        for (int i = (f == 0 ? 3 : 15); i >= 0 && add > 0; i--) {
          uint64_t v = last[i] + (add & 0xff);
          last[i] = static_cast<uint8_t>(v);
          add = (add >> 8) + (v >> 8);
        }
        all = all && InPrefix(f == 0 ? 4 : 6, hop.prefix, hop.prefix_len, r.first) && InPrefix(f == 0 ? 4 : 6, hop.prefix, hop.prefix_len, last);
      }
      if (all) {
        sockaddr_ll& ll = run->next_hop[f];
        ll.sll_family = AF_PACKET;
        ll.sll_protocol = htons(f == 0 ? ETH_P_IP : ETH_P_IPV6);
        ll.sll_ifindex = hop.ifindex;
        ll.sll_halen = 6;
        std::memcpy(ll.sll_addr, hop.mac, 6);
        run->via_packet[f] = true;
      }
    }
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
  impl_->ring.Close();
  impl_->rx_stop = true;
  if (impl_->rx_thread.joinable()) impl_->rx_thread.join();
  {
    std::lock_guard<std::mutex> lk(impl_->ports_mu);
    impl_->port_refs.clear();
    impl_->guard.Remove();
  }
  for (int* fd : {&impl_->pkt_fd, &impl_->rx_fd, &impl_->tx_fd[0], &impl_->tx_fd[1], &impl_->rst_fd[0], &impl_->rst_fd[1]}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

SynEngine::~SynEngine() { Stop(); }

}  // namespace sonde
