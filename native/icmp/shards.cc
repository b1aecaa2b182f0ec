// The engine's life cycle: it runs as 2^k shards, each an Impl with its own thread, epoll, sockets
// and slice of the probe table (icmp/engine.cc runs one). Why shards: on a local or lab target the
// kernel builds and delivers the reply inside the sender's own sendmsg (veth_xmit -> netif_rx ->
// softirq on local_bh_enable), so one thread keeps exactly one core busy; more cores need more
// senders. Each shard's raw socket carries a kernel filter for its own sequence bits, because a raw
// socket receives every ICMP message of its namespace (raw(7)) and siblings must not pay for copies.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <thread>
#include <unistd.h>

#include "icmp/engine.h"
#include "icmp/engine_impl.h"

namespace sonde {
namespace {

// Below this many probes a submission goes whole to one shard (round-robin): splitting a handful
// of probes costs more wake-ups than it saves.
constexpr size_t kSplitAbove = 2 * kBatch;

// Large submissions are split over the shards by target (see Submit): a hash of the address picks
// one of kBuckets buckets, and whole buckets go to shards.
constexpr size_t kBuckets = 256;  // a bucket's number fits a byte

size_t BucketOf(const ProbeSpec& s) {
  uint64_t w[2];
  std::memcpy(w, s.addr, sizeof(w));
  uint64_t x = w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull);  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<size_t>(x % kBuckets);
}

// owner[b]: the shard that sends bucket b's probes. Buckets go largest first to the least loaded
// shard; false when that leaves a shard more than 1/8 over an even share (few targets, or one
// target taking most echoes), where a split by target would idle a core.
bool AssignBuckets(const size_t* count, size_t n, size_t shards, uint8_t* owner) {
  size_t order[kBuckets];
  for (size_t b = 0; b < kBuckets; b++) order[b] = b;
  std::sort(order, order + kBuckets, [&](size_t a, size_t b) { return count[a] > count[b]; });
  size_t load[64] = {};
  for (size_t b : order) {
    size_t least = 0;
    for (size_t k = 1; k < shards; k++) {
      if (load[k] < load[least]) least = k;
    }
    owner[b] = static_cast<uint8_t>(least);
    load[least] += count[b];
  }
  size_t fair = n / shards;
  for (size_t k = 0; k < shards; k++) {
    if (load[k] > fair + fair / 8) return false;
  }
  return true;
}

uint32_t ShardLog2(uint32_t threads, uint32_t table_log2) {
  uint32_t want = threads != 0 ? threads : std::min(4u, std::max(1u, std::thread::hardware_concurrency()));
  uint32_t k = 0;
  while ((2u << k) <= std::min<uint32_t>(want, 64)) k++;
  // Keep at least 4 slots per shard.
  return std::min<uint32_t>(k, table_log2 > 2 ? table_log2 - 2 : 0);
}

}  // namespace

// Opens the IPv4 socket, sizes the table (2^table_log2 for the whole engine: at most 2^20 probes
// with raw sockets, 2^16 with ping sockets, whose 16-bit sequence is the key) and starts the thread.
bool IcmpEngine::Impl::Start(int mode, uint32_t table_log2, std::string* error) {
  IcmpSocket v4 = OpenIcmpSocket(4, false, mode, opts.tx_timestamps, error);
  if (v4.fd < 0) return false;
  raw = v4.raw;
  socks[0] = v4;
  if (!table.Init(std::min<uint32_t>(table_log2, raw ? 20 : 16) - shard_log2)) {
    *error = "cannot allocate the probe table";
    return false;
  }
  if (raw && shard_log2 > 0 && !AttachShardFilter(v4.fd, 4, (1u << shard_log2) - 1, shard, error)) return false;
  qos.Configure(table.capacity(), opts.qos);  // the shares are of this shard's slice of the table
  std::random_device rd;
  cookie = rd();
  salt = static_cast<uint16_t>(rd());
  if (!loop.Open(error)) return false;
  if (!loop.Watch(v4.fd, 0)) {
    *error = std::string("epoll: ") + std::strerror(errno);
    return false;
  }
  if ((opts.tx_timestamps && !txring[0].Allocate(table.capacity())) || !txbuf.Allocate(kBatch * kMaxPacket) ||
      !rxbuf.Allocate(kBatch * kRecvLen) || !ctlbuf.Allocate(kBatch * kCtlLen)) {
    *error = std::string("icmp engine: buffers: ") + std::strerror(errno);
    return false;
  }
  // One deadline per slot in use, at most (a slot is freed only when its deadline comes due).
  loop.deadlines().Reserve(table.capacity());
  tokens_at = Now(CLOCK_MONOTONIC);
  loop.Start(this);
  return true;
}

// Stops the thread (no outcome after this returns) and closes everything Start opened.
void IcmpEngine::Impl::Shutdown() {
  loop.Stop();  // idempotent, and returns only once the thread is joined
  for (auto& s : socks) {
    if (s.fd >= 0) close(s.fd);
    s.fd = -1;
  }
}

std::unique_ptr<IcmpEngine> IcmpEngine::Create(const EngineOptions& opts, OutcomeSink sink, std::string* error) {
  std::unique_ptr<IcmpEngine> e(new IcmpEngine());
  // The table's size is the engine's; shards split it.
  uint32_t total_log2 = std::max<uint32_t>(opts.capacity_log2, 4);
  uint32_t shard_log2 = ShardLog2(opts.threads, std::min<uint32_t>(total_log2, 16));
  int mode = opts.force_mode;
  for (uint32_t k = 0; k < (1u << shard_log2); k++) {
    auto impl = std::make_unique<Impl>();
    impl->opts = opts;
    impl->opts.rate = opts.rate == 0 ? 0 : std::max<uint32_t>(1, opts.rate >> shard_log2);
    impl->loop.SetSink(sink, 1024);
    impl->shard = k;
    impl->shard_log2 = shard_log2;
    Impl* p = impl.get();
    e->shards_.push_back(std::move(impl));  // from here, Stop() closes whatever it opened
    if (!p->Start(mode, total_log2, error)) {
      e->Stop();
      return nullptr;
    }
    // The first shard finds out raw or ping sockets; the others follow it.
    if (k == 0) {
      mode = p->raw ? 1 : 2;
      total_log2 = std::min<uint32_t>(total_log2, p->raw ? 20 : 16);
    }
  }
  e->raw_ = mode == 1;
  e->cap_log2_ = total_log2;
  return e;
}

bool IcmpEngine::Submit(const ProbeSpec* specs, size_t n) {
  std::lock_guard<std::mutex> order(submit_mu_);
  size_t shards = shards_.size();
  if (shards == 0) return false;
  // Small submissions go whole to one shard, rotating: splitting a handful of probes costs more
  // wake-ups than it saves.
  if (n <= kSplitAbove || shards == 1) {
    Impl& s = *shards_[next_shard_++ % shards];
    if (!s.loop.Submit(specs, n)) return false;
    s.c_queued += n;
    return true;
  }
  // Large ones by target: every echo to an address from one shard, so one core owns the kernel's
  // per-destination state of its packets and of the replies (the IP ID counter, ip_idents, hashed
  // by address: two cores adding to one counter bounce its cache line; route and neighbour entries
  // the same). Each shard's share stays in submission order. When the targets are too few to
  // balance, contiguous parts instead, so no core idles.
  // pick[i]: spec i's bucket, then its shard; each shard's queue takes its own straight from specs.
  std::vector<uint8_t> pick(n);
  size_t count[kBuckets] = {};
  for (size_t i = 0; i < n; i++) {
    pick[i] = static_cast<uint8_t>(BucketOf(specs[i]));
    count[pick[i]]++;
  }
  uint8_t owner[kBuckets];
  if (!AssignBuckets(count, n, shards, owner)) {
    for (size_t part = 0; part < shards; part++) {
      size_t from = n * part / shards, to = n * (part + 1) / shards;
      Impl& s = *shards_[part];
      if (!s.loop.Submit(specs + from, to - from)) return false;
      s.c_queued += to - from;
    }
    return true;
  }
  size_t load[64] = {};
  for (size_t i = 0; i < n; i++) {
    pick[i] = owner[pick[i]];
    load[pick[i]]++;
  }
  for (size_t k = 0; k < shards; k++) {
    if (load[k] == 0) continue;
    Impl& s = *shards_[k];
    if (!s.loop.SubmitPicked(specs, n, pick.data(), static_cast<uint8_t>(k))) return false;
    s.c_queued += load[k];
  }
  return true;
}

void IcmpEngine::SetQos(const QosLimits& limits) {
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lk(s->qos_mu);
    s->qos_in = limits;
    s->qos_due.store(true);
  }
}

void IcmpEngine::Stop() {
  for (auto& s : shards_) s->Shutdown();
}

IcmpEngine::~IcmpEngine() { Stop(); }

EngineCounters IcmpEngine::Counters() const {
  EngineCounters c;
  for (const auto& p : shards_) {
    const Impl& i = *p;
    c.sent += i.c_sent;
    c.replies += i.c_replies;
    c.errors += i.c_errors;
    c.timeouts += i.c_timeouts;
    c.duplicates += i.c_dups;
    c.strays += i.c_strays;
    c.late += i.c_late;
    c.send_errors += i.c_send_errors;
    c.tx_kernel_ts += i.c_txts;
    c.rx_kernel_ts += i.c_rxts;
    c.queued += i.c_queued;
    c.in_flight += i.table.live();
    for (int k = 0; k < kQosClasses; k++) {
      c.qos_started[k] += i.qos_counters.started[k].load(std::memory_order_relaxed);
      c.qos_shed[k] += i.qos_counters.shed[k].load(std::memory_order_relaxed);
      c.qos_waiting[k] += i.qos_counters.waiting[k].load(std::memory_order_relaxed);
      c.qos_held[k] += i.qos_counters.held[k].load(std::memory_order_relaxed);
    }
  }
  return c;
}

}  // namespace sonde
