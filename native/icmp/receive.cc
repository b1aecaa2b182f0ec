// The engine's receive side: echo replies, ICMP errors (raw sockets read them directly, ping
// sockets through the error queue) and kernel TX timestamps, each matched to its probe.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
// linux/errqueue.h needs struct timespec declared first.
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "icmp/engine_impl.h"

namespace sonde {
namespace {

ResultKind KindOf(IcmpKind k) {
  switch (k) {
    case IcmpKind::kUnreachable: return ResultKind::kUnreachable;
    case IcmpKind::kTimeExceeded: return ResultKind::kTimeExceeded;
    case IcmpKind::kPacketTooBig: return ResultKind::kPacketTooBig;
    default: return ResultKind::kParamProblem;
  }
}

// ICMP type numbers as the error queue reports them (ee_type) mapped to the parser's kinds.
IcmpKind KindOfErrType(int family, uint8_t type, uint8_t code) {
  if (family == 4) {
    if (type == 3) return code == 4 ? IcmpKind::kPacketTooBig : IcmpKind::kUnreachable;
    if (type == 11) return IcmpKind::kTimeExceeded;
    if (type == 12) return IcmpKind::kParamProblem;
  } else {
    if (type == 1) return IcmpKind::kUnreachable;
    if (type == 2) return IcmpKind::kPacketTooBig;
    if (type == 3) return IcmpKind::kTimeExceeded;
    if (type == 4) return IcmpKind::kParamProblem;
  }
  return IcmpKind::kOther;
}

void AddrOf(const void* sa, size_t len, uint8_t* out, uint8_t* family) {
  std::memset(out, 0, 16);
  *family = 0;
  sockaddr_storage ss{};
  std::memcpy(&ss, sa, std::min(len, sizeof(ss)));
  if (ss.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(out, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
    *family = 4;
  } else if (ss.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    std::memcpy(out, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, 16);
    *family = 6;
  }
}

bool SameAddr(const EchoSlot& s, const uint8_t* addr, uint8_t family) {
  return s.family == family && std::memcmp(s.addr, addr, family == 4 ? 4 : 16) == 0;
}

}  // namespace

void IcmpEngine::Impl::ReadSocket(int si) {
  int fd = socks[si].fd;
  for (int round = 0; round < 64; round++) {  // bounded: let sends and expiry run between passes
    for (size_t i = 0; i < kBatch; i++) {
      iovs[i] = {&rxbuf[i * kRecvLen], kRecvLen};
      msghdr& mh = mm[i].msg_hdr;
      std::memset(&mh, 0, sizeof(mh));
      mh.msg_name = &names[i];
      mh.msg_namelen = sizeof(names[i]);
      mh.msg_iov = &iovs[i];
      mh.msg_iovlen = 1;
      mh.msg_control = &ctlbuf[i * kCtlLen];
      mh.msg_controllen = kCtlLen;
    }
    int r = recvmmsg(fd, mm, kBatch, MSG_DONTWAIT, nullptr);
    if (r <= 0) break;
    for (int i = 0; i < r; i++) {
      if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
        c_strays++;
        continue;
      }
      HandlePacket(si, &rxbuf[static_cast<size_t>(i) * kRecvLen], mm[i].msg_len, mm[i].msg_hdr);
    }
    if (static_cast<size_t>(r) < kBatch) break;
  }
}

void IcmpEngine::Impl::HandlePacket(int si, const uint8_t* buf, size_t len, const msghdr& mh) {
  int64_t rx_ns = 0;
  int hop = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&mh), c)) {
    if (ReadSocketTimestamp(c, &rx_ns)) continue;
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
      std::memcpy(&hop, CMSG_DATA(c), sizeof(int));
    }
  }
  uint8_t flags = 0;
  if (rx_ns > 0) {
    flags |= kFlagRxKernelTs;
    c_rxts++;
  } else {
    rx_ns = Now(CLOCK_REALTIME);
  }
  ParsedIcmp p;
  bool ok = socks[si].family == 4 ? ParseIcmp4(buf, len, socks[si].raw, &p) : ParseIcmp6(buf, len, &p);
  if (!ok) {
    c_strays++;
    return;
  }
  uint8_t from[16], ff;
  AddrOf(mh.msg_name, mh.msg_namelen, from, &ff);
  if (p.has_outer_ip) hop = p.outer_ttl;
  uint8_t hl = static_cast<uint8_t>(hop < 0 || hop > 255 ? 0 : hop);
  if (p.kind == IcmpKind::kEchoReply) {
    ProbeStamp st;
    if (!ReadStamp(p.payload, p.payload_len, &st) || st.cookie != cookie || st.slot >= table.capacity()) {
      c_strays++;
      return;
    }
    EchoSlot& s = table.at(st.slot);
    if (s.gen != st.gen || s.state == kFree || s.state == kExpired) {
      c_late++;
      return;
    }
    uint16_t id, seq;
    KeyOf(st.slot, st.gen, &id, &seq);
    // A reply must come from the address probed and echo our id/seq (RFC 792): anything else
    // carrying our cookie was forged or reflected, and is not a success.
    if (!SameAddr(s, from, ff) || p.seq != seq || (raw && p.id != id)) {
      c_strays++;
      return;
    }
    if (s.state == kAnswered) {
      Emit(s, ResultKind::kDuplicate, 0, hl, 0, rx_ns, from, ff, flags);
      c_dups++;
      return;
    }
    // Read before its deadline was handled, but it reached the host after the timeout (both times
    // the kernel's when it stamps them): a timeout, as if read on time.
    if (rx_ns - s.tx_ns > static_cast<int64_t>(s.timeout_ms) * 1000000) {
      s.state = kExpired;
      Emit(s, ResultKind::kTimeout, 0, 0, 0, 0, nullptr, 0, 0);
      c_timeouts++;
      c_late++;
      return;
    }
    s.state = kAnswered;
    Emit(s, ResultKind::kReply, 0, hl, 0, rx_ns, from, ff, flags);
    c_replies++;
    return;
  }
  if (p.kind == IcmpKind::kOther || p.kind == IcmpKind::kEchoRequest) {
    c_strays++;
    return;
  }
  MatchError(p, from, ff, hl, rx_ns, flags);
}

void IcmpEngine::Impl::MatchError(const ParsedIcmp& p, const uint8_t* from, uint8_t from_family, uint8_t hop,
                                  int64_t rx_ns, uint8_t flags) {
  if (!p.has_original) {
    c_strays++;
    return;
  }
  uint32_t idx;
  ProbeStamp st;
  bool stamped = ReadStamp(p.orig_payload, p.orig_payload_len, &st) && st.cookie == cookie;
  if (stamped) {
    idx = st.slot;
  } else {
    // The key as KeyOf built it; a key of another shard fails the id/seq check below.
    uint32_t key = raw ? (static_cast<uint32_t>(p.orig_id ^ salt) << 16) | p.orig_seq : p.orig_seq;
    idx = (key >> shard_log2) & (table.capacity() - 1);
  }
  if (idx >= table.capacity()) {
    c_strays++;
    return;
  }
  EchoSlot& s = table.at(idx);
  uint16_t id, seq;
  KeyOf(idx, s.gen, &id, &seq);
  bool ours = stamped ? s.gen == st.gen : (p.orig_seq == seq && (!raw || p.orig_id == id));
  if (!ours || !SameAddr(s, p.orig_dst, s.family)) {
    c_strays++;
    return;
  }
  if (s.state != kInFlight) {
    c_late++;  // the probe already timed out or was answered
    return;
  }
  s.state = kAnswered;
  Emit(s, KindOf(p.kind), p.code, hop, p.info, rx_ns, from, from_family, flags);
  c_errors++;
}

void IcmpEngine::Impl::ReadErrQueue(int si) {
  int fd = socks[si].fd;
  int family = socks[si].family;
  for (int round = 0; round < 64; round++) {  // bounded; level-triggered epoll brings us back for the rest
    for (size_t i = 0; i < kBatch; i++) {
      iovs[i] = {&rxbuf[i * kRecvLen], kRecvLen};
      msghdr& m = mm[i].msg_hdr;
      std::memset(&m, 0, sizeof(m));
      m.msg_name = &names[i];
      m.msg_namelen = sizeof(names[i]);
      m.msg_iov = &iovs[i];
      m.msg_iovlen = 1;
      m.msg_control = &ctlbuf[i * kCtlLen];
      m.msg_controllen = kCtlLen;
    }
    // TX timestamps come one per packet: read them in batches like replies (recvmmsg passes
    // MSG_ERRQUEUE to every message).
    int r = recvmmsg(fd, mm, kBatch, MSG_ERRQUEUE | MSG_DONTWAIT, nullptr);
    if (r <= 0) break;
    for (int i = 0; i < r; i++) HandleErrMessage(si, family, &rxbuf[static_cast<size_t>(i) * kRecvLen], mm[i].msg_len, mm[i].msg_hdr);
    if (static_cast<size_t>(r) < kBatch) break;
  }
}

void IcmpEngine::Impl::HandleErrMessage(int si, int family, const uint8_t* buf, size_t n, msghdr& mh) {
  int64_t ts = 0;
  struct {
    sock_extended_err ee;
    sockaddr_storage offender;
  } err{};
  bool have_err = false;
  size_t off_len = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (ReadSocketTimestamp(c, &ts)) continue;
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
      size_t dlen = c->cmsg_len - CMSG_LEN(0);
      std::memcpy(&err, CMSG_DATA(c), std::min(dlen, sizeof(err)));
      off_len = dlen > sizeof(sock_extended_err) ? dlen - sizeof(sock_extended_err) : 0;
      have_err = true;
    }
  }
  if (!have_err) return;
  if (err.ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) {
    if (ts <= 0 || txring[si].empty()) return;
    uint32_t key = err.ee.ee_data;
    uint32_t idx = txring[si][key & (table.capacity() - 1)];
    EchoSlot& s = table.at(idx);
    // Accept a stamp only for the packet it names and only if it is plausible (after the
    // user-space send time, within a second), so a lost stamp can never shift another probe.
    if (s.state == kInFlight && s.sock == si && s.tskey == key && !s.tx_kernel && ts >= s.tx_ns &&
        ts - s.tx_ns < 1000000000) {
      s.tx_ns = ts;
      s.tx_kernel = true;
      c_txts++;
    }
    return;
  }
  if (err.ee.ee_origin != SO_EE_ORIGIN_ICMP && err.ee.ee_origin != SO_EE_ORIGIN_ICMP6) return;
  ParsedIcmp quoted;
  if (!ParseQuotedEcho(buf, n, family, &quoted)) {
    c_strays++;
    return;
  }
  ParsedIcmp p;
  p.kind = KindOfErrType(family, err.ee.ee_type, err.ee.ee_code);
  if (p.kind == IcmpKind::kOther) return;
  p.family = static_cast<uint8_t>(family);
  p.type = err.ee.ee_type;
  p.code = err.ee.ee_code;
  p.info = err.ee.ee_info;
  p.has_original = true;
  p.orig_id = quoted.id;
  p.orig_seq = quoted.seq;
  p.orig_payload = quoted.payload;
  p.orig_payload_len = quoted.payload_len;
  uint8_t dst_family;
  AddrOf(mh.msg_name, mh.msg_namelen, p.orig_dst, &dst_family);
  uint8_t from[16], ff;
  AddrOf(&err.offender, off_len, from, &ff);
  uint8_t flags = ts > 0 ? kFlagRxKernelTs : 0;
  MatchError(p, from, ff, 0, ts > 0 ? ts : Now(CLOCK_REALTIME), flags);
}

}  // namespace sonde
