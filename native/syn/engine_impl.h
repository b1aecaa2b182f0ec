// The SYN engine's internals, shared by syn/engine.cc (runs, the send path, the guard) and
// syn/receive.cc (the receive thread). Not part of the engine's interface.
#pragma once
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/engine_loop.h"
#include "common/siphash.h"
#include "packet/tcp_syn.h"
#include "syn/engine.h"
#include "syn/nft.h"
#include "syn/permutation.h"
#include "syn/socket.h"

namespace sonde {

// The (address, port) pairs of a run that have their state: a bitset over the index space when it
// holds at most 2^27 pairs (16 MiB), else a hash set of the answered indices (it grows with the
// answers, not with the space). Either makes "each pair reported once" hold, and tells the retry
// passes and the no-response report which pairs are still silent.
class AnsweredSet {
 public:
  static constexpr uint64_t kBitsetMax = uint64_t{1} << 27;
  void Init(uint64_t n);
  bool TestAndSet(uint64_t i);  // true when i was not set
  bool Test(uint64_t i);

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> bits_;
  std::mutex mu_;
  std::unordered_set<uint64_t> set_;
};

struct SynRun {
  uint32_t id = 0;
  SynRunSpec spec;
  ScanSpace space;
  std::unique_ptr<Permutation> perm;
  SipKey key;
  uint8_t src[2][16] = {};  // [0] IPv4, [1] IPv6
  bool has_src[2] = {false, false};
  // The packet-socket send path per family (syn/route.h): the next hop's interface and address.
  bool via_packet[2] = {false, false};
  sockaddr_ll next_hop[2] = {};
  uint64_t shard_total = 0;
  AnsweredSet answered;

  // Send time of each block of 64 positions of the order (the last send of it), for the RTT of
  // the replies: a ring, so the memory is bounded whatever the space.
  static constexpr size_t kRing = 1 << 16, kBlockShift = 6;
  std::unique_ptr<std::atomic<uint64_t>[]> ring_block;  // block + 1 that the slot holds
  std::unique_ptr<std::atomic<int64_t>[]> ring_time;    // CLOCK_REALTIME ns

  // Loop thread only.
  enum Phase { kSend, kGap, kWait, kSilent, kDone } phase = kSend;
  uint32_t pass = 0;
  uint64_t pos = 0, silent_pos = 0;
  double tokens = 1, burst = 1;
  int64_t last_refill = 0, start_mono = 0, deadline_mono = 0, phase_end = 0;
  int64_t pass_start = 0, send_ns = 0;  // the send phases' time, summed over passes: the rate achieved is sent / that

  std::atomic<bool> stop_requested{false};
  bool closed = false;  // guarded by the engine's outbox mutex: no outcome of the run after its summary
  // refused: SYNs the local stack would not send (EPERM from a firewall, ENETUNREACH...)
  std::atomic<uint64_t> sent{0}, refused{0}, received{0}, validated{0}, foreign{0}, duplicates{0}, open{0}, closed_ports{0}, filtered{0};

  // The cookie: a SipHash of (our address, target, target port); its low 32 bits are the SYN's
  // sequence number, its high 32 bits pick the source port in the run's range.
  uint64_t Hash(uint8_t family, const uint8_t* local, const uint8_t* target, uint16_t dport) const;
  uint16_t SourcePort(uint64_t h) const {
    return static_cast<uint16_t>(spec.sport_lo + (h >> 32) % (static_cast<uint32_t>(spec.sport_hi - spec.sport_lo) + 1));
  }
  SynCounters Snapshot() const;
};

struct SynCommand {
  std::shared_ptr<SynRun> run;  // null: only a wake-up (a stop request)
};

// A batch of datagrams for one raw socket, sent with sendmmsg; what the socket could not take
// yet stays for the next turn, in order.
struct TxBatch {
  static constexpr size_t kSize = 512;
  int fd = -1;
  std::vector<std::array<uint8_t, kSynMaxLen>> bufs;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  std::vector<sockaddr_storage> addrs;
  std::vector<SynRun*> owner;  // whose `sent` a packet counts to (nullptr: not counted)
  size_t head = 0, count = 0;
  void Init(int sock);
  bool full() const { return count == kSize; }
  // Builds nothing: returns the slot to write the next datagram into.
  uint8_t* Next() { return bufs[count].data(); }
  void Commit(size_t len, int family, const uint8_t* dst, SynRun* run);
  void CommitLink(size_t len, const sockaddr_ll& to, SynRun* run);  // on a packet socket
  // Sends what is queued; false when the socket is full (try again next turn). Other errors drop
  // the datagram that failed and count it in *errors.
  bool Flush(std::atomic<uint64_t>* errors);
};

struct SynEngine::Impl {
  SynSink sink;
  int rx_fd = -1;
  int tx_fd[2] = {-1, -1}, rst_fd[2] = {-1, -1};  // loop thread's and receive thread's senders
  int pkt_fd = -1;  // the packet-socket send path (both families), -1 when off (SONDE_SYN_SEND=raw)
  TxBatch tx[3];    // raw IPv4, raw IPv6, packet socket
  // The TX ring on the interface of the first packet-path run (SONDE_SYN_SEND=mmsg: sendmmsg on
  // the packet socket instead); runs through other interfaces use the packet socket's batches.
  bool use_ring = true;
  TxRing ring;
  bool blocked = false;
  std::vector<std::shared_ptr<SynRun>> active;  // loop thread only

  // Runs by id, for Counters and StopRun; also the receive thread's list (it copies it when
  // `version` moves).
  mutable std::mutex runs_mu;
  std::map<uint32_t, std::shared_ptr<SynRun>> runs;
  std::atomic<uint64_t> runs_version{0};
  uint32_t next_id = 1;

  // Source port ranges of the running runs (counted), the guard and the receive filter made of them.
  std::mutex ports_mu;
  std::map<std::pair<uint16_t, uint16_t>, int> port_refs;
  NftGuard guard;

  std::mutex out_mu;
  std::vector<SynOutcome> outbox;  // guarded by out_mu; handed to the sink under it, so in order

  std::atomic<uint64_t> send_errors{0};
  std::atomic<bool> rx_stop{false};
  std::thread rx_thread;
  // Last: destroyed first, so its thread is joined before the state above goes.
  EngineLoop<SynCommand, SynOutcome> loop;

  // The loop's handler (common/engine_loop.h).
  int BeforeWait();
  void OnReady(const epoll_event*, int) {}
  void Send();
  void OnDeadline(const Deadline&) {}  // deadlines only wake the loop; Step reads the clock

  bool AcquirePorts(uint16_t lo, uint16_t hi, std::string* error);
  void ReleasePorts(uint16_t lo, uint16_t hi);
  bool ApplyPorts(std::string* error);  // ports_mu held
  void Begin(const std::shared_ptr<SynRun>& run, int64_t now);
  void Step(SynRun& run, int64_t now);
  void SendRun(SynRun& run, int64_t now);
  void ReportSilent(SynRun& run);
  void Finish(SynRun& run, bool truncated, int64_t now);
  // Queues hits (owners[i] the run of hits[i]) for the sink, dropping those of closed runs; out_mu
  // taken here. Both vectors are emptied.
  void Deliver(std::vector<SynOutcome>& hits, std::vector<SynRun*>& owners, bool flush);
  void FlushOutbox();                           // out_mu held

  void ReceiveLoop();  // syn/receive.cc
};

}  // namespace sonde
