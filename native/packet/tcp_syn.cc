#include "packet/tcp_syn.h"

#include <cstring>

#include "common/bytes.h"
#include "common/checksum.h"
#include "packet/ip.h"

namespace sonde {
namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
constexpr size_t kTcpHeaderLen = 20;

// IP header + TCP header with `opt_len` option bytes; returns the total length or 0.
size_t Build(uint8_t* buf, size_t cap, const SynPacket& p, uint8_t flags, uint16_t window, size_t opt_len) {
  if (buf == nullptr || p.src == nullptr || p.dst == nullptr || (p.family != 4 && p.family != 6)) return 0;
  size_t ip = p.family == 4 ? kIp4HeaderLen : kIp6HeaderLen;
  size_t tcp_len = kTcpHeaderLen + opt_len;
  size_t total = ip + tcp_len;
  if (cap < total) return 0;
  std::memset(buf, 0, total);
  if (p.family == 4) {
    buf[0] = 0x45;
    Put16(buf + 2, static_cast<uint16_t>(total));
    Put16(buf + 4, p.ip_id);
    buf[8] = p.ttl;
    buf[9] = kProtoTcp;
    std::memcpy(buf + 12, p.src, 4);
    std::memcpy(buf + 16, p.dst, 4);
    Put16(buf + 10, InetChecksum(buf, kIp4HeaderLen));
  } else {
    buf[0] = 0x60;
    Put16(buf + 4, static_cast<uint16_t>(tcp_len));
    buf[6] = kProtoTcp;
    buf[7] = p.ttl;
    std::memcpy(buf + 8, p.src, 16);
    std::memcpy(buf + 24, p.dst, 16);
  }
  uint8_t* t = buf + ip;
  Put16(t, p.sport);
  Put16(t + 2, p.dport);
  Put32(t + 4, p.seq);
  Put32(t + 8, p.ack);
  t[12] = static_cast<uint8_t>((tcp_len / 4) << 4);
  t[13] = flags;
  Put16(t + 14, window);
  if (opt_len >= 4) {
    t[20] = 2;  // MSS (RFC 9293 3.2): stacks that see none assume 536, some firewalls drop optionless SYNs
    t[21] = 4;
    Put16(t + 22, kSynMss);
  }
  uint32_t sum = PseudoHeaderSum(p.family, p.src, p.dst, kProtoTcp, tcp_len);
  Put16(t + 16, ChecksumFinish(ChecksumPartial(t, tcp_len, sum)));
  return total;
}

// The TCP header of a reply at t (len bytes of segment). SYN-ACK or RST only. The checksum is not
// verified: a packet socket sees lo and veth packets with CHECKSUM_PARTIAL (only the pseudo-header
// sum filled in), and the cookie (a keyed hash) is the stronger check anyway.
bool ReadTcpReply(const uint8_t* t, size_t len, SynReply* out) {
  if (len < kTcpHeaderLen) return false;
  size_t off = static_cast<size_t>(t[12] >> 4) * 4;
  if (off < kTcpHeaderLen || off > len) return false;
  uint8_t flags = t[13];
  out->sport = Get16(t + 2);
  out->dport = Get16(t);
  uint32_t seq = Get32(t + 4), ack = Get32(t + 8);
  if ((flags & kRst) != 0) {
    out->kind = SynReplyKind::kRst;
    out->rst_has_ack = (flags & kAck) != 0;
    out->cookie = out->rst_has_ack ? ack - 1 : seq;
    return true;
  }
  if ((flags & (kSyn | kAck | kFin)) == (kSyn | kAck)) {
    out->kind = SynReplyKind::kSynAck;
    out->cookie = ack - 1;
    out->their_seq = seq;
    return true;
  }
  return false;
}

// The TCP segment an ICMP error quotes: ports and sequence number are its first 8 bytes.
void ReadQuotedTcp(const uint8_t* t, SynReply* out) {
  out->sport = Get16(t);
  out->dport = Get16(t + 2);
  out->cookie = Get32(t + 4);
}

}  // namespace

size_t BuildTcpSyn(uint8_t* buf, size_t cap, const SynPacket& p) { return Build(buf, cap, p, kSyn, 1024, 4); }

size_t BuildTcpRst(uint8_t* buf, size_t cap, const SynPacket& p) { return Build(buf, cap, p, kRst, 0, 0); }

bool ParseSynReply4(const uint8_t* p, size_t len, SynReply* out) {
  *out = SynReply{};
  Ip4Header ip;
  if (!ReadIp4Header(p, len, &ip)) return false;
  const uint8_t* l4 = p + ip.header_len;
  size_t l4len = ip.total_len - ip.header_len;
  out->family = 4;
  out->ttl = ip.ttl;
  std::memcpy(out->from, ip.src, 4);
  if (ip.proto == kProtoTcp) {
    if (!ReadTcpReply(l4, l4len, out)) return false;
    std::memcpy(out->target, ip.src, 4);
    std::memcpy(out->local, ip.dst, 4);
    return true;
  }
  if (ip.proto != kProtoIcmp || l4len < 8 || l4[0] != 3) return false;  // destination unreachable only
  Ip4Header q;
  if (!ReadQuotedIp4Header(l4 + 8, l4len - 8, 8, &q) || q.proto != kProtoTcp) return false;
  out->kind = SynReplyKind::kUnreachable;
  out->icmp_type = l4[0];
  out->icmp_code = l4[1];
  std::memcpy(out->target, q.dst, 4);
  std::memcpy(out->local, q.src, 4);
  ReadQuotedTcp(l4 + 8 + q.header_len, out);
  return true;
}

bool ParseSynReply6(const uint8_t* p, size_t len, SynReply* out) {
  *out = SynReply{};
  if (p == nullptr || len < kIp6HeaderLen || (p[0] >> 4) != 6) return false;
  size_t total = kIp6HeaderLen + Get16(p + 4);
  if (total > len) return false;
  const uint8_t* l4 = p + kIp6HeaderLen;
  size_t l4len = total - kIp6HeaderLen;
  out->family = 6;
  out->ttl = p[7];
  std::memcpy(out->from, p + 8, 16);
  if (p[6] == kProtoTcp) {
    if (!ReadTcpReply(l4, l4len, out)) return false;
    std::memcpy(out->target, p + 8, 16);
    std::memcpy(out->local, p + 24, 16);
    return true;
  }
  if (p[6] != kProtoIcmp6 || l4len < 8 || l4[0] != 1) return false;
  Ip6Header q;
  if (!ReadQuotedIp6Header(l4 + 8, l4len - 8, 8, &q) || q.next_header != kProtoTcp) return false;
  out->kind = SynReplyKind::kUnreachable;
  out->icmp_type = l4[0];
  out->icmp_code = l4[1];
  std::memcpy(out->target, q.dst, 16);
  std::memcpy(out->local, q.src, 16);
  ReadQuotedTcp(l4 + 8 + kIp6HeaderLen, out);
  return true;
}

bool UnreachableFilters(uint8_t family, uint8_t code) {
  if (family == 6) return code <= 6;
  return code <= 3 || code == 9 || code == 10 || code == 13;
}

}  // namespace sonde
