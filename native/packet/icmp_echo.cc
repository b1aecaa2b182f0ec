#include "packet/icmp_echo.h"

#include <cstring>

#include "common/bytes.h"
#include "packet/ip.h"

namespace sonde {
namespace {

constexpr uint8_t kIcmp4EchoReply = 0, kIcmp4Unreach = 3, kIcmp4Echo = 8, kIcmp4TimeExceeded = 11,
                  kIcmp4ParamProb = 12;
constexpr uint8_t kIcmp6Unreach = 1, kIcmp6TooBig = 2, kIcmp6TimeExceeded = 3, kIcmp6ParamProb = 4,
                  kIcmp6Echo = 128, kIcmp6EchoReply = 129;

// The quoted original datagram of an ICMPv4 error (RFC 792): IPv4 header + echo request header.
void ParseOriginal4(const uint8_t* p, size_t len, ParsedIcmp* out) {
  Ip4Header ip;
  if (!ReadQuotedIp4Header(p, len, kIcmpHeaderLen, &ip) || ip.proto != kProtoIcmp) return;
  const uint8_t* icmp = p + ip.header_len;
  if (icmp[0] != kIcmp4Echo) return;
  std::memcpy(out->orig_dst, ip.dst, 4);
  out->orig_id = Get16(icmp + 4);
  out->orig_seq = Get16(icmp + 6);
  out->orig_payload = icmp + kIcmpHeaderLen;
  out->orig_payload_len = ip.total_len - ip.header_len - kIcmpHeaderLen;
  out->has_original = true;
}

void ParseOriginal6(const uint8_t* p, size_t len, ParsedIcmp* out) {
  Ip6Header ip;
  // Echo requests sonde sends carry no extension headers, so next header must be ICMPv6.
  if (!ReadQuotedIp6Header(p, len, kIcmpHeaderLen, &ip) || ip.next_header != kProtoIcmp6) return;
  const uint8_t* icmp = p + kIp6HeaderLen;
  if (icmp[0] != kIcmp6Echo) return;
  std::memcpy(out->orig_dst, ip.dst, 16);
  out->orig_id = Get16(icmp + 4);
  out->orig_seq = Get16(icmp + 6);
  out->orig_payload = icmp + kIcmpHeaderLen;
  out->orig_payload_len = ip.total_len - kIp6HeaderLen - kIcmpHeaderLen;
  out->has_original = true;
}

void FillEcho(const uint8_t* icmp, size_t len, ParsedIcmp* out) {
  out->id = Get16(icmp + 4);
  out->seq = Get16(icmp + 6);
  out->payload = icmp + kIcmpHeaderLen;
  out->payload_len = len - kIcmpHeaderLen;
}

}  // namespace

size_t WriteEchoRequest(uint8_t* icmp, int family, uint16_t id, uint16_t seq, size_t payload_len,
                        const uint8_t* src6, const uint8_t* dst6) {
  size_t len = kIcmpHeaderLen + payload_len;
  icmp[0] = family == 4 ? kIcmp4Echo : kIcmp6Echo;
  icmp[1] = 0;
  Put16(icmp + 2, 0);
  Put16(icmp + 4, id);
  Put16(icmp + 6, seq);
  if (family == 4) {
    Put16(icmp + 2, InetChecksum(icmp, len));
  } else if (src6 != nullptr && dst6 != nullptr) {
    Put16(icmp + 2, ChecksumFinish(ChecksumPartial(icmp, len, PseudoHeaderSum(6, src6, dst6, kProtoIcmp6, len))));
  }
  return len;
}

size_t BuildEchoRequest(uint8_t* buf, size_t cap, int family, uint16_t id, uint16_t seq,
                        const ProbeStamp& stamp, size_t payload_len) {
  if (payload_len < kProbeStampLen) payload_len = kProbeStampLen;
  if (payload_len > kMaxPayload) return 0;
  if (kIcmpHeaderLen + payload_len > cap || (family != 4 && family != 6)) return 0;
  uint8_t* pl = buf + kIcmpHeaderLen;
  Put32(pl, stamp.cookie);
  Put32(pl + 4, stamp.slot);
  Put32(pl + 8, stamp.gen);
  // A fixed filler (like ping's incrementing bytes) lets corruption on the path show as a bad checksum.
  for (size_t i = kProbeStampLen; i < payload_len; i++) pl[i] = static_cast<uint8_t>(i);
  return WriteEchoRequest(buf, family, id, seq, payload_len);
}

void PatchEchoRequest(uint8_t* pkt, size_t len, int family, uint16_t id, uint16_t seq, const ProbeStamp& stamp) {
  if (len < kIcmpHeaderLen + kProbeStampLen) return;
  uint8_t fresh[6 * 2 + 4];
  Put16(fresh, id);
  Put16(fresh + 2, seq);
  Put32(fresh + 4, stamp.cookie);
  Put32(fresh + 8, stamp.slot);
  Put32(fresh + 12, stamp.gen);
  if (family == 4) {
    // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') over each changed 16-bit word.
    uint32_t sum = static_cast<uint16_t>(~Get16(pkt + 2));
    for (size_t w = 0; w < 8; w++) {
      size_t off = w < 2 ? 4 + w * 2 : kIcmpHeaderLen + (w - 2) * 2;
      sum += static_cast<uint16_t>(~Get16(pkt + off));
      sum += Get16(fresh + w * 2);
    }
    Put16(pkt + 2, ChecksumFinish(sum));
  }
  std::memcpy(pkt + 4, fresh, 4);
  std::memcpy(pkt + kIcmpHeaderLen, fresh + 4, kProbeStampLen);
}

bool ParseIcmp4(const uint8_t* pkt, size_t len, bool with_ip_header, ParsedIcmp* out) {
  *out = ParsedIcmp{};
  out->family = 4;
  if (pkt == nullptr) return false;
  if (with_ip_header) {
    Ip4Header ip;
    if (!ReadIp4Header(pkt, len, &ip) || ip.proto != kProtoIcmp) return false;
    out->has_outer_ip = true;
    out->outer_ttl = ip.ttl;
    std::memcpy(out->outer_src, ip.src, 4);
    pkt += ip.header_len;
    len = ip.total_len - ip.header_len;
  }
  if (len < kIcmpHeaderLen) return false;
  if (InetChecksum(pkt, len) != 0) return false;
  out->type = pkt[0];
  out->code = pkt[1];
  switch (out->type) {
    case kIcmp4EchoReply:
      out->kind = IcmpKind::kEchoReply;
      FillEcho(pkt, len, out);
      return true;
    case kIcmp4Echo:
      out->kind = IcmpKind::kEchoRequest;
      FillEcho(pkt, len, out);
      return true;
    case kIcmp4Unreach:
      // Code 4 is "fragmentation needed and DF set" with the next-hop MTU (RFC 1191).
      out->kind = out->code == 4 ? IcmpKind::kPacketTooBig : IcmpKind::kUnreachable;
      if (out->code == 4) out->info = Get16(pkt + 6);
      break;
    case kIcmp4TimeExceeded:
      out->kind = IcmpKind::kTimeExceeded;
      break;
    case kIcmp4ParamProb:
      out->kind = IcmpKind::kParamProblem;
      out->info = pkt[4];
      break;
    default:
      out->kind = IcmpKind::kOther;
      return true;
  }
  ParseOriginal4(pkt + kIcmpHeaderLen, len - kIcmpHeaderLen, out);
  return true;
}

bool ParseIcmp6(const uint8_t* pkt, size_t len, ParsedIcmp* out) {
  *out = ParsedIcmp{};
  out->family = 6;
  if (pkt == nullptr || len < kIcmpHeaderLen) return false;
  out->type = pkt[0];
  out->code = pkt[1];
  switch (out->type) {
    case kIcmp6EchoReply:
      out->kind = IcmpKind::kEchoReply;
      FillEcho(pkt, len, out);
      return true;
    case kIcmp6Echo:
      out->kind = IcmpKind::kEchoRequest;
      FillEcho(pkt, len, out);
      return true;
    case kIcmp6Unreach:
      out->kind = IcmpKind::kUnreachable;
      break;
    case kIcmp6TooBig:
      out->kind = IcmpKind::kPacketTooBig;
      out->info = Get32(pkt + 4);
      break;
    case kIcmp6TimeExceeded:
      out->kind = IcmpKind::kTimeExceeded;
      break;
    case kIcmp6ParamProb:
      out->kind = IcmpKind::kParamProblem;
      out->info = Get32(pkt + 4);
      break;
    default:
      out->kind = IcmpKind::kOther;
      return true;
  }
  ParseOriginal6(pkt + kIcmpHeaderLen, len - kIcmpHeaderLen, out);
  return true;
}

bool ParseQuotedEcho(const uint8_t* icmp, size_t len, int family, ParsedIcmp* out) {
  *out = ParsedIcmp{};
  out->family = static_cast<uint8_t>(family);
  if (icmp == nullptr || len < kIcmpHeaderLen) return false;
  if (icmp[0] != (family == 4 ? kIcmp4Echo : kIcmp6Echo)) return false;
  out->type = icmp[0];
  out->code = icmp[1];
  out->kind = IcmpKind::kEchoRequest;
  FillEcho(icmp, len, out);
  return true;
}

bool ReadStamp(const uint8_t* payload, size_t len, ProbeStamp* out) {
  if (payload == nullptr || len < kProbeStampLen) return false;
  out->cookie = Get32(payload);
  out->slot = Get32(payload + 4);
  out->gen = Get32(payload + 8);
  return true;
}

}  // namespace sonde
