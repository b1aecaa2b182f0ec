// The trace engine: TTL-limited ICMP, UDP and TCP SYN probes (packet/trace.h) sent from raw
// sockets on one thread (epoll), their answers (ICMP time exceeded / unreachable quoting the
// probe, echo replies, TCP SYN-ACK/RST) matched back by the fields quoted in them. No N-API here:
// glue/trace.cc wraps it. Separate from the ICMP echo engine because Paris probes need control of
// the whole packet (IPv4 ID, constant ICMP checksum, ports), which ping-style sockets do not give.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sonde {

// UDP/TCP flows (source ports) must lie in this range: the TCP receive filter admits only
// segments to these ports (trace/engine.cc), and it stays clear of well-known ports.
constexpr uint16_t kTraceFlowMin = 33000, kTraceFlowMax = 49151;

struct TraceSpec {
  uint32_t tag = 0;       // the caller's handle, returned with the outcome
  uint8_t family = 4;
  uint8_t proto = 1;      // 1 ICMP/ICMPv6 echo, 17 UDP, 6 TCP SYN
  uint8_t ttl = 1;
  uint16_t flow = 0;      // ICMP identifier or UDP/TCP source port (fixed per flow)
  uint16_t dport = 0;     // UDP/TCP destination port
  uint16_t payload_len = 0;
  uint8_t dst[16] = {};
  uint32_t timeout_ms = 1000;
};

enum class TraceKind : uint8_t {
  kTimeExceeded = 1,  // a router on the path: the TTL ran out there
  kUnreachable = 2,   // ICMP destination unreachable (code says which; from the target: port unreachable)
  kEchoReply = 3,     // the target answered the ICMP probe
  kTcpSynAck = 4,     // the target's port is open
  kTcpRst = 5,        // the target's port is closed
  kTimeout = 6,
  kSendError = 7,     // info: errno
};

struct TraceOutcome {
  uint32_t tag;
  TraceKind kind;
  uint8_t code;
  uint8_t family;      // of `from`, 0 when none
  uint8_t quoted_ttl;  // TTL left in the quoted probe (IPv4/IPv6 errors), 0 when unknown
  uint32_t info;
  double rtt;          // seconds
  uint8_t from[16];
  // What names the probe on the wire, so a lost probe can be found in the drop tracer's events: the
  // ICMP sequence (ICMP), the IPv4 identification (UDP over IPv4), sequence >> 16 (TCP) all carry `key`;
  // the TCP sequence's low half is `gen`. 0/0 when no packet was built.
  uint16_t key;
  uint16_t gen;
  int64_t sent_mono_ns;  // CLOCK_MONOTONIC at send (bpf_ktime_get_ns() clock), 0 when never sent
};

struct TraceCounters {
  uint64_t sent = 0, answered = 0, timeouts = 0, strays = 0, late = 0, send_errors = 0;
};

using TraceSink = std::function<void(std::vector<TraceOutcome>&& batch)>;

class TraceEngine {
 public:
  // Opens the raw sockets (CAP_NET_RAW) and starts the thread; null with *error on failure.
  static std::unique_ptr<TraceEngine> Create(TraceSink sink, std::string* error);
  ~TraceEngine();
  TraceEngine(const TraceEngine&) = delete;
  TraceEngine& operator=(const TraceEngine&) = delete;

  bool Submit(const TraceSpec* specs, size_t n);  // thread-safe; false after Stop()
  void Stop();
  TraceCounters Counters() const;

  struct Impl;

 private:
  TraceEngine() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sonde
