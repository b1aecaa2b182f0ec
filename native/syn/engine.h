// The SYN scan engine: stateless half-open scans of (address × port) spaces at a set rate. The
// loop thread (common/engine_loop.h) visits each run's space in its keyed order (syn/permutation.h),
// writes SYNs whose sequence number is a SipHash of the 4-tuple (the cookie), and sends them with
// sendmmsg in batches paced by a token bucket; a receive thread reads replies from a packet socket
// (syn/socket.h), validates them against the cookie with no table, answers SYN-ACKs with a RST and
// reports each (address, port) once. The nftables guard (syn/nft.h) keeps the kernel from
// resetting the target's half-open connections first. No N-API here: glue/syn.cc wraps it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "syn/permutation.h"

namespace sonde {

struct SynRunSpec {
  std::vector<SpaceRun> runs;
  std::vector<std::pair<uint16_t, uint16_t>> ports;
  double rate = 0;  // packets per second, > 0
  uint32_t retries = 1;
  uint32_t wait_ms = 1000;
  uint64_t shard_index = 0, shard_count = 1;
  uint64_t seed = 0;
  bool has_src4 = false, has_src6 = false;
  uint8_t src4[16] = {}, src6[16] = {};
  uint16_t sport_lo = 0, sport_hi = 0;  // 0, 0: the default range (DefaultSourcePorts)
  uint64_t max_runtime_ms = 0;          // 0: none
  bool all_states = false;
};

enum class SynState : uint8_t { kOpen = 0, kClosed = 1, kFiltered = 2 };
enum class SynReason : uint8_t { kSynAck = 0, kReset = 1, kNoResponse = 2, kUnreachable = 3 };

// What ScanProgress (src/native/syn_types.ts) reports, per run.
struct SynCounters {
  uint64_t sent = 0, refused = 0, total = 0, received = 0, validated = 0, foreign = 0, duplicates = 0, open = 0, closed = 0, filtered = 0;
};

struct SynSummary {
  SynCounters counters;
  double seconds = 0, packets_per_second = 0;
  bool truncated = false;
};

// One port's state, or (summary set) the end of a run: nothing of that run follows it.
struct SynOutcome {
  uint32_t run = 0;
  uint8_t family = 0;
  SynState state = SynState::kOpen;
  SynReason reason = SynReason::kSynAck;
  uint8_t icmp_code = 0;
  uint8_t ttl = 0;
  uint16_t port = 0;
  uint8_t addr[16] = {};
  double rtt = -1;  // seconds; < 0 unknown
  std::shared_ptr<const SynSummary> summary;
};

using SynSink = std::function<void(std::vector<SynOutcome>&& batch)>;

// The scanner's own source ports when a run names none: the 1000 ports above the kernel's
// ephemeral range (net.ipv4.ip_local_port_range), or below it when they do not fit, so no
// connection of this host ever gets a port whose SYN-ACKs the guard drops. false with *error when
// neither fits; an explicit range that overlaps the ephemeral range is refused (CheckSourcePorts).
bool DefaultSourcePorts(uint16_t* lo, uint16_t* hi, std::string* error);
bool CheckSourcePorts(uint16_t lo, uint16_t hi, std::string* error);

class SynEngine {
 public:
  // Opens the sockets (CAP_NET_RAW) and starts the threads; null with *error on failure.
  static std::unique_ptr<SynEngine> Create(SynSink sink, std::string* error);
  ~SynEngine();
  SynEngine(const SynEngine&) = delete;
  SynEngine& operator=(const SynEngine&) = delete;

  // Any thread. Checks the spec, finds the source addresses, makes the nftables guard for its
  // ports and queues the run: its id (> 0), or 0 with *error and nothing sent.
  uint32_t Start(const SynRunSpec& spec, std::string* error);
  // Ends a run early (its summary says truncated). Unknown or finished ids are ignored.
  void StopRun(uint32_t id);
  // false once the run has ended (its summary has the final counters).
  bool Counters(uint32_t id, SynCounters* out) const;
  // Joins the threads, removes the guard. Runs not finished end without a summary.
  void Stop();
  uint64_t send_errors() const;

  struct Impl;

 private:
  SynEngine() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sonde
