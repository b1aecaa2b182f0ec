#include "packet/trace.h"

#include <cstring>

#include "common/bytes.h"
#include "common/checksum.h"
#include "packet/icmp_echo.h"
#include "packet/ip.h"

namespace sonde {
namespace {

constexpr size_t kTcpSynLen = 24;  // TCP header + MSS option

void PutStamp(uint8_t* pl, size_t n, uint16_t first, uint16_t gen, uint32_t cookie) {
  Put16(pl, first);
  Put16(pl + 2, gen);
  Put32(pl + 4, cookie);
  // Fixed filler: the checksum of the constant part stays the same for every probe of a flow.
  for (size_t i = kTraceStampLen; i < n; i++) pl[i] = static_cast<uint8_t>(0x40 + (i & 0x3f));
}

// Reads the stamp of an ICMP or UDP probe payload (first word: compensation or key).
void ReadStamp(const uint8_t* pl, size_t n, bool first_is_key, TraceParsed* out) {
  if (n < kTraceStampLen) return;
  if (first_is_key) {
    out->key = Get16(pl);
    out->has_key = true;
  }
  out->gen = Get16(pl + 2);
  out->has_gen = true;
  out->cookie = Get32(pl + 4);
  out->has_cookie = true;
}

// The probe quoted in an ICMP error, after its IP header: `l4` holds `n` bytes of it.
void ReadQuotedL4(uint8_t proto, const uint8_t* l4, size_t n, int family, TraceParsed* out) {
  out->proto = proto;
  if (proto == kProtoIcmp) {
    out->flow = Get16(l4 + 4);
    out->key = Get16(l4 + 6);
    out->has_key = true;
    ReadStamp(l4 + 8, n - 8, false, out);
  } else if (proto == kProtoUdp) {
    out->flow = Get16(l4);
    out->dport = Get16(l4 + 2);
    // IPv4 carries the key in the IP ID (set by the caller); IPv6 only in the payload.
    bool had = out->has_key;
    uint16_t key = out->key;
    ReadStamp(l4 + 8, n - 8, true, out);
    if (family == 4 && had) {
      if (out->has_key && out->key != key) out->has_gen = out->has_cookie = false;  // stamp of another probe
      out->key = key;
      out->has_key = true;
    }
  } else {
    out->flow = Get16(l4);
    out->dport = Get16(l4 + 2);
    uint32_t seq = Get32(l4 + 4);
    out->key = static_cast<uint16_t>(seq >> 16);
    out->gen = static_cast<uint16_t>(seq);
    out->has_key = out->has_gen = true;
  }
}

// A TCP segment sent back by the target: SYN-ACK (port open) or RST (closed) acknowledge our
// SYN's sequence number + 1 (RFC 9293 3.5, 3.10.7.1).
bool ReadTcp(const uint8_t* tcp, size_t n, TraceParsed* out) {
  if (n < 20) return false;
  uint8_t flags = tcp[13];
  if ((flags & 0x10) == 0) return false;  // no ACK: nothing to match
  if ((flags & 0x12) == 0x12) out->msg = TraceMsg::kTcpSynAck;
  else if (flags & 0x04) out->msg = TraceMsg::kTcpRst;
  else return false;
  out->proto = kProtoTcp;
  out->flow = Get16(tcp + 2);
  out->dport = Get16(tcp);
  uint32_t seq = Get32(tcp + 8) - 1;
  out->key = static_cast<uint16_t>(seq >> 16);
  out->gen = static_cast<uint16_t>(seq);
  out->has_key = out->has_gen = true;
  return true;
}

}  // namespace

size_t BuildTraceProbe(uint8_t* buf, size_t cap, const TraceProbe& p) {
  if (buf == nullptr || p.dst == nullptr || (p.family != 4 && p.family != 6)) return 0;
  if (p.family == 4 && p.src == nullptr) return 0;
  if (p.proto != kProtoIcmp && p.proto != kProtoUdp && p.proto != kProtoTcp) return 0;
  size_t pl = p.proto == kProtoTcp ? 0 : (p.payload_len < kTraceStampLen ? kTraceStampLen : p.payload_len);
  size_t l4len = (p.proto == kProtoTcp ? kTcpSynLen : 8) + pl;
  size_t off = p.family == 4 ? kIp4HeaderLen : 0;
  if (l4len > 65000 || off + l4len > cap) return 0;
  uint8_t* l4 = buf + off;
  std::memset(buf, 0, off + l4len);
  uint8_t wire_proto = p.proto == kProtoIcmp && p.family == 6 ? kProtoIcmp6 : p.proto;
  if (p.proto == kProtoIcmp) {
    // Compensation: seq + gen + comp is always 0xffff (one's complement -0), so the checksum
    // depends only on the constant bytes (Paris traceroute's constant ICMP checksum).
    uint32_t vary = static_cast<uint32_t>(p.key) + p.gen;
    vary = (vary & 0xffff) + (vary >> 16);
    PutStamp(l4 + 8, pl, static_cast<uint16_t>(~vary & 0xffff), p.gen, p.cookie);
    // The identifier is the flow, the sequence names the probe.
    WriteEchoRequest(l4, p.family, p.flow, p.key, pl, p.family == 6 ? p.src : nullptr, p.dst);
  } else if (p.proto == kProtoUdp) {
    Put16(l4, p.flow);
    Put16(l4 + 2, p.dport);
    Put16(l4 + 4, static_cast<uint16_t>(l4len));
    PutStamp(l4 + 8, pl, p.key, p.gen, p.cookie);
    // IPv4: checksum 0, "no checksum" (RFC 768). IPv6 requires one (RFC 8200 8.1): ours when
    // the source is known, else the kernel's (IPV6_CHECKSUM on the socket).
    if (p.family == 6 && p.src != nullptr) {
      uint16_t c = ChecksumFinish(ChecksumPartial(l4, l4len, PseudoHeaderSum(6, p.src, p.dst, kProtoUdp, l4len)));
      Put16(l4 + 6, c == 0 ? 0xffff : c);
    }
  } else {
    Put16(l4, p.flow);
    Put16(l4 + 2, p.dport);
    Put32(l4 + 4, (static_cast<uint32_t>(p.key) << 16) | p.gen);
    l4[12] = static_cast<uint8_t>((kTcpSynLen / 4) << 4);
    l4[13] = 0x02;  // SYN
    Put16(l4 + 14, 65535);
    l4[20] = 2;  // MSS option (RFC 9293 3.2): what a real SYN carries
    l4[21] = 4;
    Put16(l4 + 22, 1460);
    if (p.src != nullptr) Put16(l4 + 16, ChecksumFinish(ChecksumPartial(l4, l4len, PseudoHeaderSum(p.family, p.src, p.dst, kProtoTcp, l4len))));
  }
  if (p.family == 4) {
    buf[0] = 0x45;
    Put16(buf + 2, static_cast<uint16_t>(kIp4HeaderLen + l4len));
    Put16(buf + 4, p.key);  // IPv4 ID: quoted by every ICMP error (RFC 792)
    buf[8] = p.ttl;
    buf[9] = wire_proto;
    std::memcpy(buf + 12, p.src, 4);
    std::memcpy(buf + 16, p.dst, 4);
    Put16(buf + 10, InetChecksum(buf, kIp4HeaderLen));
  }
  return off + l4len;
}

bool ParseTrace4(const uint8_t* pkt, size_t len, TraceParsed* out) {
  *out = TraceParsed{};
  Ip4Header ip;
  if (!ReadIp4Header(pkt, len, &ip)) return false;
  out->has_from = true;
  std::memcpy(out->from, ip.src, 4);
  const uint8_t* l4 = pkt + ip.header_len;
  size_t n = ip.total_len - ip.header_len;
  if (ip.proto == kProtoTcp) {
    if (!ReadTcp(l4, n, out)) return false;
    std::memcpy(out->dst, out->from, 4);
    return true;
  }
  if (ip.proto != kProtoIcmp || n < 8 || InetChecksum(l4, n) != 0) return false;
  out->type = l4[0];
  out->code = l4[1];
  if (out->type == 0) {
    out->msg = TraceMsg::kEchoReply;
    out->proto = kProtoIcmp;
    std::memcpy(out->dst, out->from, 4);
    out->flow = Get16(l4 + 4);
    out->key = Get16(l4 + 6);
    out->has_key = true;
    ReadStamp(l4 + 8, n - 8, false, out);
    return true;
  }
  if (out->type == 11) {
    out->msg = TraceMsg::kTimeExceeded;
  } else if (out->type == 3) {
    out->msg = TraceMsg::kUnreachable;
    if (out->code == 4) out->info = Get16(l4 + 6);  // next-hop MTU (RFC 1191)
  } else {
    return false;
  }
  // The quoted datagram: its IP header and the first 8 bytes of the probe at least.
  const uint8_t* q = l4 + 8;
  Ip4Header qip;
  if (!ReadQuotedIp4Header(q, n - 8, 8, &qip)) return false;
  uint8_t qproto = qip.proto;
  if (qproto != kProtoIcmp && qproto != kProtoUdp && qproto != kProtoTcp) return false;
  if (qproto == kProtoIcmp && q[qip.header_len] != 8) return false;
  out->quoted_ttl = qip.ttl;
  std::memcpy(out->dst, qip.dst, 4);
  if (qproto == kProtoUdp) {
    out->key = Get16(q + 4);
    out->has_key = true;
  }
  ReadQuotedL4(qproto, q + qip.header_len, qip.total_len - qip.header_len, 4, out);
  return true;
}

bool ParseTrace6Icmp(const uint8_t* pkt, size_t len, TraceParsed* out) {
  *out = TraceParsed{};
  if (pkt == nullptr || len < 8) return false;
  out->type = pkt[0];
  out->code = pkt[1];
  if (out->type == 129) {
    out->msg = TraceMsg::kEchoReply;
    out->proto = kProtoIcmp;
    out->flow = Get16(pkt + 4);
    out->key = Get16(pkt + 6);
    out->has_key = true;
    ReadStamp(pkt + 8, len - 8, false, out);
    return true;
  }
  if (out->type == 3) {
    out->msg = TraceMsg::kTimeExceeded;
  } else if (out->type == 1) {
    out->msg = TraceMsg::kUnreachable;
  } else if (out->type == 2) {
    out->msg = TraceMsg::kUnreachable;
    out->info = Get32(pkt + 4);
  } else {
    return false;
  }
  const uint8_t* q = pkt + 8;
  Ip6Header qip;
  if (!ReadQuotedIp6Header(q, len - 8, 8, &qip)) return false;
  uint8_t proto = qip.next_header == kProtoIcmp6 ? kProtoIcmp : qip.next_header;
  if (proto != kProtoIcmp && proto != kProtoUdp && proto != kProtoTcp) return false;
  if (proto == kProtoIcmp && q[kIp6HeaderLen] != 128) return false;
  out->quoted_ttl = qip.hop_limit;
  std::memcpy(out->dst, qip.dst, 16);
  ReadQuotedL4(proto, q + kIp6HeaderLen, qip.total_len - kIp6HeaderLen, 6, out);
  return true;
}

bool ParseTrace6Tcp(const uint8_t* pkt, size_t len, const uint8_t* src, TraceParsed* out) {
  *out = TraceParsed{};
  if (pkt == nullptr || src == nullptr || !ReadTcp(pkt, len, out)) return false;
  std::memcpy(out->dst, src, 16);
  std::memcpy(out->from, src, 16);
  out->has_from = true;
  return true;
}

}  // namespace sonde
