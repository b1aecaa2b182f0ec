// The SYN engine's receive thread: replies from the packet socket, validated against each
// running run's cookie (no table), answered with a RST when they are SYN-ACKs, reported once.
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <arpa/inet.h>

#include <cstring>

#include "common/engine_io.h"
#include "syn/engine_impl.h"
#include "syn/socket.h"

namespace sonde {
namespace {

constexpr size_t kRxBatch = 256, kRxBuf = 2048;

struct RxState {
  std::vector<std::array<uint8_t, kRxBuf>> bufs{kRxBatch};
  std::vector<mmsghdr> msgs{kRxBatch};
  std::vector<iovec> iov{kRxBatch};
  std::vector<sockaddr_ll> from{kRxBatch};
  std::vector<std::array<uint8_t, 64>> ctl{kRxBatch};
  std::vector<std::shared_ptr<SynRun>> runs;  // the engine's runs when `version` was read
  uint64_t version = ~0ull;
  std::vector<SynOutcome> hits;
  std::vector<SynRun*> owners;
  TxBatch rst[2];
};

}  // namespace

void SynEngine::Impl::ReceiveLoop() {
  RxState st;
  for (int f = 0; f < 2; f++) st.rst[f].Init(rst_fd[f]);
  int one = 1;
  setsockopt(rx_fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
  int64_t last_flush = Now(CLOCK_MONOTONIC), last_drops = last_flush;
  std::atomic<uint64_t> rst_errors{0};
  while (!rx_stop.load(std::memory_order_relaxed)) {
    pollfd pfd{rx_fd, POLLIN, 0};
    poll(&pfd, 1, 5);  // short: the stop flag, the drop count and the outbox are looked at between reads
    if (runs_version.load() != st.version) {
      std::lock_guard<std::mutex> lk(runs_mu);
      st.version = runs_version.load();
      st.runs.clear();
      for (auto& [id, r] : runs) st.runs.push_back(r);
    }
    for (size_t i = 0; i < kRxBatch; i++) {
      st.iov[i] = iovec{st.bufs[i].data(), kRxBuf};
      st.msgs[i] = mmsghdr{};
      st.msgs[i].msg_hdr.msg_name = &st.from[i];
      st.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_ll);
      st.msgs[i].msg_hdr.msg_iov = &st.iov[i];
      st.msgs[i].msg_hdr.msg_iovlen = 1;
      st.msgs[i].msg_hdr.msg_control = st.ctl[i].data();
      st.msgs[i].msg_hdr.msg_controllen = st.ctl[i].size();
    }
    int n = recvmmsg(rx_fd, st.msgs.data(), kRxBatch, MSG_DONTWAIT, nullptr);
    int64_t now_wall = Now(CLOCK_REALTIME);
    for (int i = 0; i < n; i++) {
      const sockaddr_ll& ll = st.from[i];
      if (ll.sll_pkttype == PACKET_OUTGOING) continue;
      size_t len = st.msgs[i].msg_len;
      SynReply r;
      uint16_t proto = ntohs(ll.sll_protocol);
      bool ok = proto == ETH_P_IP ? ParseSynReply4(st.bufs[i].data(), len, &r) : proto == ETH_P_IPV6 && ParseSynReply6(st.bufs[i].data(), len, &r);
      if (!ok) continue;
      int64_t rx = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&st.msgs[i].msg_hdr); c != nullptr; c = CMSG_NXTHDR(&st.msgs[i].msg_hdr, c))
        ReadSocketTimestamp(c, &rx);
      if (rx == 0) rx = now_wall;
      int f = r.family == 4 ? 0 : 1;
      size_t alen = r.family == 4 ? 4 : 16;
      SynRun* match = nullptr;
      uint64_t idx = 0, pos = 0;
      int in_range = 0;
      for (auto& run : st.runs) {
        SynRun& ru = *run;
        if (!ru.has_src[f] || r.sport < ru.spec.sport_lo || r.sport > ru.spec.sport_hi) continue;
        if (std::memcmp(r.local, ru.src[f], alen) != 0) continue;
        in_range++;
        ru.received.fetch_add(1, std::memory_order_relaxed);
        uint64_t h = ru.Hash(r.family, r.local, r.target, r.dport);
        uint32_t seq = static_cast<uint32_t>(h);
        bool cookie_ok = r.cookie == seq || (r.kind == SynReplyKind::kRst && !r.rst_has_ack && r.cookie == seq + 1);
        if (ru.SourcePort(h) != r.sport || !cookie_ok) continue;
        if (!ru.space.IndexOf(r.family, r.target, r.dport, &idx)) continue;
        pos = ru.perm->Inverse(idx);
        if (pos % ru.spec.shard_count != ru.spec.shard_index) continue;
        match = &ru;
        break;
      }
      if (match == nullptr) {
        // Not ours (another scanner, a forged or corrupted reply): counted by every run it could be for.
        for (auto& run : st.runs) {
          SynRun& ru = *run;
          if (ru.has_src[f] && r.sport >= ru.spec.sport_lo && r.sport <= ru.spec.sport_hi && std::memcmp(r.local, ru.src[f], alen) == 0)
            ru.foreign.fetch_add(1, std::memory_order_relaxed);
        }
        continue;
      }
      SynRun& ru = *match;
      if (r.kind == SynReplyKind::kSynAck) {
        // Every validated SYN-ACK (a retransmitted one too) gets its RST, so the target lets go.
        TxBatch& b = st.rst[f];
        if (b.fd >= 0) {
          if (b.full()) b.Flush(&rst_errors);
          if (!b.full()) {
            SynPacket p;
            p.family = r.family;
            p.src = r.local;
            p.dst = r.target;
            p.sport = r.sport;
            p.dport = r.dport;
            p.seq = r.cookie + 1;
            p.ip_id = static_cast<uint16_t>(r.cookie);
            b.Commit(BuildTcpRst(b.Next(), kSynMaxLen, p), r.family, r.target, nullptr);
          }
        }
      }
      SynOutcome o;
      o.run = ru.id;
      o.family = r.family;
      std::memcpy(o.addr, r.target, 16);
      o.port = r.dport;
      o.ttl = r.ttl;
      if (r.kind == SynReplyKind::kSynAck) {
        o.state = SynState::kOpen;
        o.reason = SynReason::kSynAck;
      } else if (r.kind == SynReplyKind::kRst) {
        o.state = SynState::kClosed;
        o.reason = SynReason::kReset;
      } else if (UnreachableFilters(r.family, r.icmp_code)) {
        o.state = SynState::kFiltered;
        o.reason = SynReason::kUnreachable;
        o.icmp_code = r.icmp_code;
      } else {
        ru.foreign.fetch_add(1, std::memory_order_relaxed);  // an ICMP code that says nothing of the port
        continue;
      }
      if (!ru.answered.TestAndSet(idx)) {
        ru.duplicates.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      ru.validated.fetch_add(1, std::memory_order_relaxed);
      (o.state == SynState::kOpen ? ru.open : o.state == SynState::kClosed ? ru.closed_ports : ru.filtered)
          .fetch_add(1, std::memory_order_relaxed);
      uint64_t block = (pos / ru.spec.shard_count) >> SynRun::kBlockShift;
      size_t slot = block & (SynRun::kRing - 1);
      if (ru.ring_block[slot].load(std::memory_order_acquire) == block + 1) {
        int64_t tx = ru.ring_time[slot].load(std::memory_order_relaxed);
        if (rx >= tx) o.rtt = static_cast<double>(rx - tx) / 1e9;
      }
      if (o.state == SynState::kOpen || ru.spec.all_states) {
        st.hits.push_back(o);
        st.owners.push_back(&ru);
      }
    }
    for (auto& b : st.rst) {
      if (b.count > 0) b.Flush(&rst_errors);
      if (b.count > 0) b.head = b.count = 0;  // a RST the socket cannot take now is dropped, not waited for
    }
    int64_t now = Now(CLOCK_MONOTONIC);
    if (now - last_drops > 50000000) {
      // What reached the socket and found its buffer full: received, and lost on our side.
      uint64_t d = TakeReceiverDrops(rx_fd);
      if (d > 0)
        for (auto& run : st.runs) run->received.fetch_add(d, std::memory_order_relaxed);
      last_drops = now;
    }
    bool flush = now - last_flush > 5000000 || n <= 0;
    if (!st.hits.empty() || flush) {
      Deliver(st.hits, st.owners, flush);
      if (flush) last_flush = now;
    }
  }
}

}  // namespace sonde
