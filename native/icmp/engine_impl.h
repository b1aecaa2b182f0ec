// Internal to the engine: the state of one shard, shared by icmp/engine.cc (the loop's handler:
// send, expiry), icmp/receive.cc (replies, errors, timestamps) and icmp/shards.cc (life cycle).
// Not included by anything else.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include "common/engine_io.h"
#include "common/engine_loop.h"
#include "common/zero_array.h"
#include "icmp/engine.h"
#include "icmp/socket.h"
#include "icmp/table.h"
#include "packet/icmp_echo.h"

namespace sonde {

constexpr size_t kBatch = 64;
constexpr size_t kMaxPacket = 8 + 8192;  // the engine's payload limit (ICMP header + 8 KiB)
constexpr size_t kRecvLen = 60 + kMaxPacket;
constexpr size_t kCtlLen = 256;
// Sockets per shard, by SockIndex (icmp/engine.cc): IPv4 plain, IPv4 DF, IPv6 plain, IPv6 DF, and
// the IPv4 socket that may fragment (raw only: a plain probe larger than kUnfragmentedV4).
constexpr int kSockets = 5;
constexpr int kFragmentingV4 = 4;

struct IcmpEngine::Impl {
  EngineOptions opts;
  bool raw = false;
  IcmpSocket socks[kSockets];  // epoll tag: the index
  ProbeTable table;
  uint32_t cookie = 0;
  uint16_t salt = 0;
  // This shard's number in the low shard_log2 bits of every echo sequence it sends (icmp/engine.h).
  uint32_t shard = 0, shard_log2 = 0;
  // Thread-only state.
  bool blocked = false;
  bool busy = false;     // this turn sends flat out and reads every socket without waiting
  bool watching = true;  // sockets registered with epoll (see Watch)
  bool drained = false;  // this turn read every socket before its first timeout (see OnDeadline)
  double tokens = 0;
  int64_t tokens_at = 0;
  uint32_t tskey_next[kSockets] = {};
  ZeroArray<uint32_t> txring[kSockets];
  // QoS admission (common/qos.h). `ready`: specs granted a table slot, in sending order (what
  // SendPending sends); `deferred`: specs of a lower class kept waiting by its share, in order.
  QosGate qos;
  Fifo<ProbeSpec> ready;
  Fifo<ProbeSpec> deferred[kQosClasses];
  QosCounters qos_counters;
  std::mutex qos_mu;
  QosLimits qos_in;      // guarded by qos_mu: set by SetQos
  std::atomic<bool> qos_due{false};
  // Preallocated I/O batches (untouched until used: common/zero_array.h).
  ZeroArray<uint8_t> txbuf, rxbuf, ctlbuf;
  size_t tx_len[kBatch] = {};
  int tx_family[kBatch] = {};
  sockaddr_storage names[kBatch];
  iovec iovs[kBatch];
  mmsghdr mm[kBatch];
  uint32_t batch_slot[kBatch] = {};
  // Counters read from other threads.
  std::atomic<uint64_t> c_sent{0}, c_replies{0}, c_errors{0}, c_timeouts{0}, c_dups{0}, c_strays{0},
      c_late{0}, c_send_errors{0}, c_txts{0}, c_rxts{0}, c_queued{0};
  // Last: destroyed first, so its thread is joined before the state above goes.
  EngineLoop<ProbeSpec, ProbeOutcome> loop;

  // The loop's handler (common/engine_loop.h).
  int BeforeWait();
  void OnReady(const epoll_event* evs, int n);
  void Send() {
    Grant();
    SendPending();
  }
  void OnDeadline(const Deadline& d);

  bool Start(int mode, uint32_t table_log2, std::string* error);
  void Shutdown();
  void Watch(bool on);
  bool EnsureSocket(int si, std::string* error);
  void SendPending();
  void Grant();
  void Shed(const ProbeSpec& spec);
  void FreeSlot(uint32_t idx);
  void ReadSocket(int si);
  void ReadErrQueue(int si);
  void Drain();
  void HandleErrMessage(int si, int family, const uint8_t* buf, size_t n, msghdr& mh);
  void HandlePacket(int si, const uint8_t* buf, size_t len, const msghdr& mh);
  void MatchError(const ParsedIcmp& p, const uint8_t* from, uint8_t from_family, uint8_t hop, int64_t rx_ns,
                  uint8_t flags);
  void Emit(const EchoSlot& s, ResultKind kind, uint8_t code, uint8_t hop, uint32_t info, int64_t rx_ns,
            const uint8_t* from, uint8_t from_family, uint8_t flags);
  void KeyOf(uint32_t slot, uint32_t gen, uint16_t* id, uint16_t* seq) const;
};

}  // namespace sonde
