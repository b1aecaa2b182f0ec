// The ICMP echo engine: one thread, one epoll, raw ICMP/ICMPv6 sockets (or unprivileged ping
// sockets), batched sendmmsg/recvmmsg, kernel timestamps, and a preallocated table of probes in
// flight. No N-API here: glue/icmp.cc wraps it. Designed so TTL-limited probes (trace) reuse it:
// every probe carries its own TTL, and ICMP errors are matched to the probe they quote.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/qos.h"

namespace sonde {

struct EngineOptions {
  // Probes in flight at once: 2^capacity_log2 (at most 2^20 with raw sockets, 2^16 with ping
  // sockets whose 16-bit sequence is the only key an ICMP error quotes for sure). The table is
  // allocated once; pages are touched only as slots get used.
  uint32_t capacity_log2 = 16;
  bool tx_timestamps = true;
  uint32_t rate = 0;      // packets per second, 0: as fast as the sockets take them
  int force_mode = 0;     // 0 auto, 1 raw only, 2 ping sockets only
  // Shards: each is a thread with its own sockets and its share of the table. The kernel answers a
  // probe to a lab or local target inside the sender's own sendmsg (softirq on the way out), so one
  // thread saturates one core; shards spread that over cores. 0: one per CPU, at most 4. Rounded
  // down to a power of two (shard = low bits of the echo sequence).
  uint32_t threads = 0;
  // The table slots each QoS class may hold (per shard) and the bound on a lower class's queue.
  QosLimits qos;
};

// One echo to send. addr holds 4 (IPv4) or 16 bytes.
struct ProbeSpec {
  uint32_t tag = 0;         // the caller's handle, returned with the result
  uint8_t family = 4;
  uint8_t ttl = 0;          // 0: system default
  bool df = false;
  bool has_src = false;
  uint8_t addr[16] = {};
  uint8_t src[16] = {};
  uint32_t scope_id = 0;
  uint16_t payload_len = 56;
  uint32_t timeout_ms = 1000;
  uint8_t qos = kQosCritical;  // QoS class (common/qos.h): which share of the table it may take
};

enum class ResultKind : uint8_t {
  kReply = 1,
  kTimeout = 2,
  kUnreachable = 3,
  kTimeExceeded = 4,
  kPacketTooBig = 5,
  kParamProblem = 6,
  kDuplicate = 7,   // a second reply to a probe already answered (within its timeout)
  kSendError = 8,   // the kernel refused the send (errno in info)
  kShed = 9,        // never sent: its QoS class's queue was past its bound
};

constexpr uint8_t kFlagRxKernelTs = 1, kFlagTxKernelTs = 2;

struct ProbeOutcome {
  uint32_t tag;
  ResultKind kind;
  uint8_t code;       // ICMP code for errors
  uint8_t hop_limit;  // TTL / hop limit of the packet that came back, 0 when unknown
  uint8_t family;     // of `from`
  uint8_t flags;      // kFlag*
  uint32_t info;      // MTU / pointer / errno
  double rtt;         // seconds from transmit to receive (replies and errors)
  uint8_t from[16];   // who answered (the target, or the router that sent the error)
  uint32_t wire;      // echo id << 16 | sequence as sent, 0 if never built: matches eBPF drop events
};

struct EngineCounters {
  uint64_t sent = 0, replies = 0, errors = 0, timeouts = 0, duplicates = 0;
  uint64_t strays = 0;   // ICMP that is not ours (other processes, forged, wrong cookie or source)
  uint64_t late = 0;     // ours, but after its probe timed out
  uint64_t send_errors = 0, tx_kernel_ts = 0, rx_kernel_ts = 0, queued = 0, in_flight = 0;
  // By QoS class (kQos*), over the shards: took a slot, were shed, wait now, hold a slot now.
  uint64_t qos_started[kQosClasses] = {}, qos_shed[kQosClasses] = {};
  uint64_t qos_waiting[kQosClasses] = {}, qos_held[kQosClasses] = {};
};

using OutcomeSink = std::function<void(std::vector<ProbeOutcome>&& batch)>;

class IcmpEngine {
 public:
  // Opens the IPv4 and IPv6 sockets and starts the thread. On failure returns null and says in
  // *error which capability or sysctl is missing.
  static std::unique_ptr<IcmpEngine> Create(const EngineOptions& opts, OutcomeSink sink, std::string* error);
  ~IcmpEngine();
  IcmpEngine(const IcmpEngine&) = delete;
  IcmpEngine& operator=(const IcmpEngine&) = delete;

  // Thread-safe; the thread sends them in order. Returns false after Stop().
  bool Submit(const ProbeSpec* specs, size_t n);
  // Stops the thread; probes still in flight produce no outcome.
  void Stop();
  EngineCounters Counters() const;
  // New QoS limits (a reload), taken by each shard at its next turn; thread-safe.
  void SetQos(const QosLimits& limits);
  bool privileged() const { return raw_; }
  uint32_t capacity() const { return 1u << cap_log2_; }

  struct Impl;

 private:
  IcmpEngine() = default;
  std::vector<std::unique_ptr<Impl>> shards_;
  size_t next_shard_ = 0;  // round-robin for small submissions; guarded by submit_mu_
  std::mutex submit_mu_;
  bool raw_ = false;
  uint32_t cap_log2_ = 16;
};

}  // namespace sonde
