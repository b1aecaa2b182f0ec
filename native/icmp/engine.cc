#include "icmp/engine.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icmp/engine_impl.h"

namespace sonde {
namespace {

// Which of a shard's sockets sends a probe (engine_impl.h kSockets): by family and DF, and with
// raw sockets a plain IPv4 probe too large for kUnfragmentedV4 on the twin that may fragment it.
int SockIndex(const ProbeSpec& s, bool raw) {
  if (raw && s.family == 4 && !s.df &&
      20 + kIcmpHeaderLen + std::max<size_t>(s.payload_len, kProbeStampLen) > kUnfragmentedV4) {
    return kFragmentingV4;
  }
  return (s.family == 6 ? 2 : 0) + (s.df ? 1 : 0);
}

int FamilyOf(int si) { return si == 2 || si == 3 ? 6 : 4; }
// A raw send-only twin's replies and errors reach the plain socket of its family, which receives
// for it; -1 for the receiving sockets themselves.
int ReceiverOf(int si) { return si == 1 || si == kFragmentingV4 ? 0 : si == 3 ? 2 : -1; }

}  // namespace

void IcmpEngine::Impl::KeyOf(uint32_t slot, uint32_t gen, uint16_t* id, uint16_t* seq) const {
  // Raw sockets: id:seq is a 32-bit key (generation bits above the slot index) so an ICMP error
  // quoting only the 8-byte echo header (RFC 792 minimum) still names its probe. Ping sockets own
  // the id (the kernel rewrites it), so the sequence is the slot alone. The low shard_log2 bits of
  // the key are the shard's number, which its socket filter selects on (AttachShardFilter).
  uint32_t local = (slot << shard_log2) | shard;
  uint32_t key = raw ? (gen << (table.log2() + shard_log2)) | local : local;
  *id = static_cast<uint16_t>((key >> 16) ^ salt);
  *seq = static_cast<uint16_t>(key & 0xffff);
}

bool IcmpEngine::Impl::EnsureSocket(int si, std::string* error) {
  if (socks[si].fd >= 0) return true;
  // A raw DF or fragmenting socket only sends (OpenIcmpSocket): the plain socket of its family
  // receives for it.
  int receiver = ReceiverOf(si);
  if (raw && receiver >= 0 && !EnsureSocket(receiver, error)) return false;
  socks[si] = OpenIcmpSocket(FamilyOf(si), si == 1 || si == 3, raw ? 1 : 2, opts.tx_timestamps, error, si == kFragmentingV4);
  if (socks[si].fd < 0) return false;
  if (raw && shard_log2 > 0 && receiver < 0 && !AttachShardFilter(socks[si].fd, socks[si].family, (1u << shard_log2) - 1, shard, error)) {
    close(socks[si].fd);
    socks[si].fd = -1;
    return false;
  }
  if (opts.tx_timestamps && !txring[si].Allocate(table.capacity())) {
    *error = std::string("icmp engine: timestamp ring: ") + std::strerror(errno);
    close(socks[si].fd);
    socks[si].fd = -1;
    return false;
  }
  if (watching) loop.Watch(socks[si].fd, static_cast<uint32_t>(si));
  return true;
}

void IcmpEngine::Impl::Emit(const EchoSlot& s, ResultKind kind, uint8_t code, uint8_t hop, uint32_t info, int64_t rx_ns,
                            const uint8_t* from, uint8_t from_family, uint8_t flags) {
  ProbeOutcome o;
  o.tag = s.tag;
  o.kind = kind;
  o.code = code;
  o.hop_limit = hop;
  o.family = from_family;
  o.flags = static_cast<uint8_t>(flags | (s.tx_kernel ? kFlagTxKernelTs : 0));
  o.info = info;
  o.rtt = rx_ns > 0 ? static_cast<double>(rx_ns - s.tx_ns) / 1e9 : 0;
  if (from) std::memcpy(o.from, from, 16);
  else std::memset(o.from, 0, 16);
  // The echo id:seq this probe went out with (issue 4): eBPF events name packets by it.
  o.wire = 0;
  auto at = reinterpret_cast<uintptr_t>(&s), base = reinterpret_cast<uintptr_t>(&table.at(0));
  if (at >= base && at < base + sizeof(EchoSlot) * table.capacity()) {
    uint16_t id, seq;
    KeyOf(static_cast<uint32_t>((at - base) / sizeof(EchoSlot)), s.gen, &id, &seq);
    o.wire = static_cast<uint32_t>(id) << 16 | seq;
  }
  loop.Emit(o);
}

// How many specs are granted a slot ahead of SendPending: a few of its passes' worth, so that a
// spec of a higher class arriving next waits behind no more than that.
constexpr size_t kGrantAhead = 8 * kBatch;

// Moves submissions to `ready` as the QoS shares allow: first those a share kept waiting (they
// came first), then new ones in order. A lower class past its share waits in `deferred` or, past
// the queue bound, is shed at once. Nothing is taken while the table is full: the submissions
// wait in the loop's queue as before, in order, uncopied.
void IcmpEngine::Impl::Grant() {
  if (qos_due.exchange(false)) {
    std::lock_guard<std::mutex> lk(qos_mu);
    qos.Configure(table.capacity(), qos_in);
  }
  for (uint8_t cls : kQosStartOrder) {
    Fifo<ProbeSpec>& d = deferred[cls];
    while (!d.empty() && ready.size() < kGrantAhead && qos.MayStart(cls)) {
      ready.Push(d.front());
      d.Pop();
      qos.Take(cls);
    }
  }
  auto& in = loop.pending();
  while (in.left() > 0 && ready.size() < kGrantAhead && qos.MayStart(kQosCritical)) {
    const ProbeSpec& spec = in[0];
    uint8_t cls = QosGate::Clamp(spec.qos);
    if (deferred[cls].empty() && qos.MayStart(cls)) {
      ready.Push(spec);
      qos.Take(cls);
    } else if (qos.Sheds(cls, deferred[cls].size())) {
      Shed(spec);
    } else {
      deferred[cls].Push(spec);
    }
    in.Consume(1);
  }
  for (int k = 0; k < kQosClasses; k++) {
    qos_counters.waiting[k].store(deferred[k].size(), std::memory_order_relaxed);
    qos_counters.held[k].store(qos.held(static_cast<uint8_t>(k)), std::memory_order_relaxed);
  }
}

void IcmpEngine::Impl::Shed(const ProbeSpec& spec) {
  EchoSlot tmp{};
  tmp.tag = spec.tag;
  Emit(tmp, ResultKind::kShed, 0, 0, 0, 0, nullptr, 0, 0);
  qos_counters.shed[QosGate::Clamp(spec.qos)].fetch_add(1, std::memory_order_relaxed);
}

// A table slot is given back: its class's share too.
void IcmpEngine::Impl::FreeSlot(uint32_t idx) {
  qos.Release(table.at(idx).qos);
  table.Free(idx);
}

void IcmpEngine::Impl::SendPending() {
  auto& pending = ready;
  blocked = false;
  // A few batches per pass, then back to reading: replies to a long burst would otherwise pile
  // up past the receive buffer while we are still sending.
  for (int rounds = 0; rounds < 8 && pending.left() > 0; rounds++) {
    size_t budget = kBatch;
    if (opts.rate > 0) {
      int64_t now = Now(CLOCK_MONOTONIC);
      tokens = std::min<double>(tokens + (now - tokens_at) * 1e-9 * opts.rate, std::max<double>(kBatch, opts.rate / 1000.0));
      tokens_at = now;
      if (tokens < 1) return;
      budget = std::min<size_t>(budget, static_cast<size_t>(tokens));
    }
    int si = SockIndex(pending[0], raw);
    std::string err;
    if (!EnsureSocket(si, &err)) {
      EchoSlot tmp{};
      tmp.tag = pending[0].tag;
      Emit(tmp, ResultKind::kSendError, 0, 0, EAFNOSUPPORT, 0, nullptr, 0, 0);
      c_send_errors++;
      qos.Release(QosGate::Clamp(pending[0].qos));
      pending.Consume(1);
      continue;
    }
    size_t n = 0;
    for (; n < budget && n < pending.left(); n++) {
      const ProbeSpec& spec = pending[n];
      if (SockIndex(spec, raw) != si) break;
      uint32_t idx;
      if (!table.Alloc(&idx)) break;
      EchoSlot& s = table.at(idx);
      s.tag = spec.tag;
      s.family = spec.family;
      std::memcpy(s.addr, spec.addr, 16);
      s.tx_kernel = false;
      s.qos = QosGate::Clamp(spec.qos);
      batch_slot[n] = idx;
      uint16_t id, seq;
      KeyOf(idx, s.gen, &id, &seq);
      ProbeStamp stamp{cookie, idx, s.gen};
      uint8_t* pkt = &txbuf[n * kMaxPacket];
      size_t want = kIcmpHeaderLen + std::max<size_t>(spec.payload_len, kProbeStampLen);
      if (tx_len[n] == want && tx_family[n] == spec.family) {
        PatchEchoRequest(pkt, want, spec.family, id, seq, stamp);
      } else {
        tx_len[n] = BuildEchoRequest(pkt, kMaxPacket, spec.family, id, seq, stamp, spec.payload_len);
        tx_family[n] = spec.family;
      }
      iovs[n] = {pkt, tx_len[n]};
      msghdr& mh = mm[n].msg_hdr;
      std::memset(&mh, 0, sizeof(mh));
      mh.msg_namelen = FillSockaddr(spec.family, spec.addr, spec.scope_id, &names[n]);
      mh.msg_name = &names[n];
      mh.msg_iov = &iovs[n];
      mh.msg_iovlen = 1;
      // Per-packet TTL and source address as ancillary data (ip(7) IP_TTL/IP_PKTINFO, RFC 3542
      // IPV6_HOPLIMIT/IPV6_PKTINFO), so probes with different TTLs share one socket.
      if (spec.ttl != 0 || spec.has_src) {
        uint8_t* ctl = &ctlbuf[n * kCtlLen];
        std::memset(ctl, 0, kCtlLen);
        mh.msg_control = ctl;
        mh.msg_controllen = kCtlLen;
        cmsghdr* c = CMSG_FIRSTHDR(&mh);
        size_t used = 0;
        if (spec.ttl != 0) {
          int ttl = spec.ttl;
          c->cmsg_level = spec.family == 4 ? IPPROTO_IP : IPPROTO_IPV6;
          c->cmsg_type = spec.family == 4 ? IP_TTL : IPV6_HOPLIMIT;
          c->cmsg_len = CMSG_LEN(sizeof(int));
          std::memcpy(CMSG_DATA(c), &ttl, sizeof(int));
          used += CMSG_SPACE(sizeof(int));
          c = CMSG_NXTHDR(&mh, c);
        }
        if (spec.has_src) {
          if (spec.family == 4) {
            in_pktinfo pi{};
            std::memcpy(&pi.ipi_spec_dst, spec.src, 4);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(pi));
            std::memcpy(CMSG_DATA(c), &pi, sizeof(pi));
            used += CMSG_SPACE(sizeof(pi));
          } else {
            in6_pktinfo pi{};
            std::memcpy(&pi.ipi6_addr, spec.src, 16);
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(pi));
            std::memcpy(CMSG_DATA(c), &pi, sizeof(pi));
            used += CMSG_SPACE(sizeof(pi));
          }
        }
        mh.msg_controllen = used;
      }
    }
    if (n == 0) return;  // table full: wait for deadlines to free slots
    int64_t tx_ns = Now(CLOCK_REALTIME);
    int64_t mono = Now(CLOCK_MONOTONIC);
    int r = sendmmsg(socks[si].fd, mm, static_cast<unsigned>(n), MSG_DONTWAIT);
    if (r < 0 && !raw && errno != EAGAIN && errno != ENOBUFS) {
      // A ping socket with IP_RECVERR reports an earlier probe's ICMP error (sk_err) on the next
      // call once (ip(7)); that error belongs to the error queue, not to this batch: retry once.
      r = sendmmsg(socks[si].fd, mm, static_cast<unsigned>(n), MSG_DONTWAIT);
    }
    size_t sent = r > 0 ? static_cast<size_t>(r) : 0;
    for (size_t i = 0; i < n; i++) {
      uint32_t idx = batch_slot[i];
      EchoSlot& s = table.at(idx);
      if (i >= sent) {
        table.Free(idx);  // not FreeSlot: the spec stays in `ready`, granted, and is sent again
        continue;
      }
      qos_counters.started[s.qos].fetch_add(1, std::memory_order_relaxed);
      const ProbeSpec& spec = pending[i];
      s.tx_ns = tx_ns;
      s.sock = static_cast<uint8_t>(si);
      s.state = kInFlight;
      s.timeout_ms = spec.timeout_ms;
      if (opts.tx_timestamps) {
        s.tskey = tskey_next[si]++;
        txring[si][s.tskey & (table.capacity() - 1)] = idx;
      }
      // A slot stays taken until its deadline, answered or not, so a duplicate reply within the
      // timeout is still recognised as a duplicate of that probe.
      loop.Schedule(mono + static_cast<int64_t>(spec.timeout_ms) * 1000000, idx, s.gen);
    }
    pending.Consume(sent);
    c_sent += sent;
    if (opts.rate > 0) tokens -= static_cast<double>(sent);
    if (r < 0) {
      if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
        blocked = true;  // socket buffer full: retry shortly, keep order
        return;
      }
      // The first message was refused (e.g. ENETUNREACH, EMSGSIZE): that probe ends here. Its slot is
      // free again but still holds its tag and generation, so the outcome names the echo it built.
      int e = errno;
      Emit(table.at(batch_slot[0]), ResultKind::kSendError, 0, 0, static_cast<uint32_t>(e), 0, nullptr, 0, 0);
      c_send_errors++;
      qos.Release(QosGate::Clamp(pending[0].qos));
      pending.Consume(1);
    }
  }
  size_t waiting = pending.left() + loop.pending().left();
  for (const auto& d : deferred) waiting += d.size();
  c_queued = waiting;
}

// Every reply and TX stamp the kernel holds now, read before a probe is declared lost: a turn
// that sends flat out can outlast a short timeout while replies wait in the socket, and a reply
// that reached the host in time must not be reported as a timeout because we read it late.
void IcmpEngine::Impl::Drain() {
  drained = true;
  for (int si = 0; si < kSockets; si++) {
    if (socks[si].fd < 0) continue;
    if (opts.tx_timestamps || !raw) ReadErrQueue(si);
    ReadSocket(si);
  }
}

void IcmpEngine::Impl::OnDeadline(const Deadline& d) {
  EchoSlot& s = table.at(d.key);
  if (s.gen != d.gen) return;  // not scheduled for this use of the slot
  if (s.state == kInFlight && !drained) Drain();
  if (s.state == kInFlight) {
    Emit(s, ResultKind::kTimeout, 0, 0, 0, 0, nullptr, 0, 0);
    c_timeouts++;
  }
  FreeSlot(d.key);
}

void IcmpEngine::Impl::Watch(bool on) {
  if (watching == on) return;
  watching = on;
  for (int si = 0; si < kSockets; si++) {
    if (socks[si].fd < 0) continue;
    // Level-triggered: on re-adding, whatever is already queued is reported by the next wait.
    if (on) loop.Watch(socks[si].fd, static_cast<uint32_t>(si));
    else loop.Unwatch(socks[si].fd);
  }
}

int IcmpEngine::Impl::BeforeWait() {
  Grant();  // slots freed by the last turn's deadlines go to work a share kept waiting
  auto& pending = ready;
  drained = false;  // a new turn: what arrives from now on is read before its deadlines
  // Sending flat out, every pass reads every socket anyway; with the sockets off epoll, the kernel
  // skips the wake-up callback (sock_def_readable / sock_def_error_report -> ep_poll_callback)
  // that it would otherwise run for every reply and every TX timestamp.
  busy = opts.rate == 0 && !blocked && pending.left() > 0 && table.live() < table.capacity();
  Watch(!busy);
  if (busy) return LoopCore::kNoWait;
  // More to send: go on at once, or in 1 ms when the socket buffer, the rate or the table is full.
  if (pending.left() > 0) return blocked || opts.rate > 0 || table.live() == table.capacity() ? 1 : 0;
  return LoopCore::kIdle;
}

void IcmpEngine::Impl::OnReady(const epoll_event* evs, int n) {
  bool readable[kSockets] = {}, errq[kSockets] = {};
  if (busy) {
    for (int si = 0; si < kSockets; si++) {
      readable[si] = socks[si].fd >= 0;
      errq[si] = readable[si] && (opts.tx_timestamps || !raw);
    }
  }
  for (int i = 0; i < n; i++) {
    uint32_t t = evs[i].data.u32;
    if (t < kSockets) {
      readable[t] = (evs[i].events & EPOLLIN) != 0;
      errq[t] = (evs[i].events & EPOLLERR) != 0;
    }
  }
  // TX stamps first: a reply read in this pass should use its packet's kernel TX time.
  for (int si = 0; si < kSockets; si++) {
    if (errq[si]) ReadErrQueue(si);
  }
  for (int si = 0; si < kSockets; si++) {
    if (readable[si]) ReadSocket(si);
  }
}

}  // namespace sonde
