// Unit tests of native/packet/tcp_syn.cc and common/siphash.cc (no N-API, no sockets). With
// `--write-seeds DIR` it writes the tcp_syn fuzzer's seed corpus (selector byte: 0 IPv4, 1 IPv6).
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "common/siphash.h"
#include "packet/tcp_syn.h"

using namespace sonde;
using Bytes = std::vector<uint8_t>;
using check::ReferenceSum;

static const uint8_t kSrc4[4] = {198, 18, 0, 1}, kDst4[4] = {198, 18, 0, 2}, kRtr4[4] = {198, 18, 9, 9};
static const uint8_t kSrc6[16] = {0xfd, 0x5e, 0xed, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t kDst6[16] = {0xfd, 0x5e, 0xed, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static uint16_t G16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
static uint32_t G32(const uint8_t* p) { return (static_cast<uint32_t>(G16(p)) << 16) | G16(p + 2); }
static void P16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
static void P32(uint8_t* p, uint32_t v) {
  P16(p, v >> 16);
  P16(p + 2, v & 0xffff);
}

static Bytes Syn(int family, uint32_t seq) {
  SynPacket p;
  p.family = static_cast<uint8_t>(family);
  p.src = family == 4 ? kSrc4 : kSrc6;
  p.dst = family == 4 ? kDst4 : kDst6;
  p.sport = 61005;
  p.dport = 443;
  p.seq = seq;
  p.ip_id = 0x1234;
  Bytes b(kSynMaxLen);
  b.resize(BuildTcpSyn(b.data(), b.size(), p));
  return b;
}

// The TCP/ICMPv6 checksum over a pseudo-header, written apart from common/checksum.cc.
static uint32_t Pseudo(int family, const uint8_t* s, const uint8_t* d, uint8_t proto, size_t len) {
  int n = family == 4 ? 4 : 16;
  uint32_t sum = ReferenceSum(s, n, 0);
  sum = ReferenceSum(d, n, sum);
  return sum + proto + static_cast<uint32_t>(len);
}

// A reply from the target to our SYN: flags, seq and ack given; IPv4 or IPv6.
static Bytes Reply(int family, uint8_t flags, uint32_t seq, uint32_t ack) {
  size_t ip = family == 4 ? 20 : 40;
  Bytes b(ip + 20, 0);
  if (family == 4) {
    b[0] = 0x45;
    P16(&b[2], static_cast<uint32_t>(b.size()));
    b[8] = 61;
    b[9] = 6;
    std::memcpy(&b[12], kDst4, 4);
    std::memcpy(&b[16], kSrc4, 4);
  } else {
    b[0] = 0x60;
    P16(&b[4], 20);
    b[6] = 6;
    b[7] = 62;
    std::memcpy(&b[8], kDst6, 16);
    std::memcpy(&b[24], kSrc6, 16);
  }
  uint8_t* t = &b[ip];
  P16(t, 443);
  P16(t + 2, 61005);
  P32(t + 4, seq);
  P32(t + 8, ack);
  t[12] = 0x50;
  t[13] = flags;
  return b;
}

// An ICMP unreachable (v4 type 3 / v6 type 1) from kRtr4 / kDst6 quoting `quote` bytes of the SYN.
static Bytes Unreach(int family, uint8_t code, const Bytes& syn, size_t quote) {
  quote = std::min(quote, syn.size());
  size_t ip = family == 4 ? 20 : 40;
  Bytes b(ip + 8 + quote, 0);
  if (family == 4) {
    b[0] = 0x45;
    P16(&b[2], static_cast<uint32_t>(b.size()));
    b[8] = 60;
    b[9] = 1;
    std::memcpy(&b[12], kRtr4, 4);
    std::memcpy(&b[16], kSrc4, 4);
  } else {
    b[0] = 0x60;
    P16(&b[4], static_cast<uint32_t>(8 + quote));
    b[6] = 58;
    b[7] = 59;
    std::memcpy(&b[8], kDst6, 16);
    std::memcpy(&b[24], kSrc6, 16);
  }
  b[ip] = family == 4 ? 3 : 1;
  b[ip + 1] = code;
  std::memcpy(&b[ip + 8], syn.data(), quote);
  return b;
}

static bool Parse(int family, const Bytes& b, SynReply* r) {
  return family == 4 ? ParseSynReply4(b.data(), b.size(), r) : ParseSynReply6(b.data(), b.size(), r);
}

static void TestSipHash() {
  // The paper's vectors (appendix A): key 00..0f, messages 00..(n-1).
  SipKey k;
  uint8_t kb[16], msg[64];
  for (int i = 0; i < 16; i++) kb[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 64; i++) msg[i] = static_cast<uint8_t>(i);
  for (int i = 7; i >= 0; i--) {
    k.k0 = (k.k0 << 8) | kb[i];
    k.k1 = (k.k1 << 8) | kb[8 + i];
  }
  CHECK(SipHash24(k, msg, 0) == 0x726fdb47dd0e0e31ull);
  CHECK(SipHash24(k, msg, 1) == 0x74f839c593dc67fdull);
  CHECK(SipHash24(k, msg, 8) == 0x93f5f5799a932462ull);
  CHECK(SipHash24(k, msg, 15) == 0xa129ca6149be45e5ull);
  SipKey k2 = k;
  k2.k1 ^= 1;
  CHECK(SipHash24(k2, msg, 15) != SipHash24(k, msg, 15));
}

static void TestBuild(int family) {
  Bytes b = Syn(family, 0xdeadbeef);
  size_t ip = family == 4 ? 20 : 40;
  CHECK(b.size() == ip + 24);
  if (family == 4) {
    CHECK(b[0] == 0x45 && G16(&b[2]) == b.size() && b[9] == 6 && b[8] == 64 && G16(&b[4]) == 0x1234);
    CHECK(ReferenceSum(b.data(), 20, 0) == 0xffff);  // header checksum valid
    CHECK(std::memcmp(&b[12], kSrc4, 4) == 0 && std::memcmp(&b[16], kDst4, 4) == 0);
  } else {
    CHECK(b[0] == 0x60 && G16(&b[4]) == 24 && b[6] == 6 && b[7] == 64);
  }
  const uint8_t* t = &b[ip];
  CHECK(G16(t) == 61005 && G16(t + 2) == 443 && G32(t + 4) == 0xdeadbeef && G32(t + 8) == 0);
  CHECK(t[12] == 0x60 && t[13] == 0x02 && G16(t + 14) == 1024);
  CHECK(t[20] == 2 && t[21] == 4 && G16(t + 22) == kSynMss);
  uint32_t s = ReferenceSum(t, 24, Pseudo(family, family == 4 ? kSrc4 : kSrc6, family == 4 ? kDst4 : kDst6, 6, 24));
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  CHECK(s == 0xffff);  // TCP checksum valid
  // Too small a buffer, a bad family, a missing address: nothing built.
  SynPacket p;
  p.family = static_cast<uint8_t>(family);
  p.src = family == 4 ? kSrc4 : kSrc6;
  p.dst = family == 4 ? kDst4 : kDst6;
  uint8_t small[kSynMaxLen];
  CHECK(BuildTcpSyn(small, ip + 23, p) == 0);
  p.family = 5;
  CHECK(BuildTcpSyn(small, sizeof(small), p) == 0);
  p.family = static_cast<uint8_t>(family);
  p.dst = nullptr;
  CHECK(BuildTcpSyn(small, sizeof(small), p) == 0);
  // The RST after a SYN-ACK: seq given, no ACK, no options.
  p.dst = family == 4 ? kDst4 : kDst6;
  p.seq = 0xdeadbef0;
  size_t n = BuildTcpRst(small, sizeof(small), p);
  CHECK(n == ip + 20 && small[ip + 13] == 0x04 && G32(small + ip + 4) == 0xdeadbef0 && small[ip + 12] == 0x50);
}

static void TestParse(int family) {
  SynReply r;
  // SYN-ACK: ack = seq + 1.
  CHECK(Parse(family, Reply(family, 0x12, 777, 0xdeadbef0), &r));
  CHECK(r.kind == SynReplyKind::kSynAck && r.cookie == 0xdeadbeef && r.their_seq == 777 && r.sport == 61005 && r.dport == 443);
  CHECK(r.family == family && r.ttl == (family == 4 ? 61 : 62));
  CHECK(std::memcmp(r.target, family == 4 ? kDst4 : kDst6, family == 4 ? 4 : 16) == 0);
  CHECK(std::memcmp(r.local, family == 4 ? kSrc4 : kSrc6, family == 4 ? 4 : 16) == 0);
  // RST+ACK (the usual answer of a closed port), a bare RST (seq), a wrapped ack.
  CHECK(Parse(family, Reply(family, 0x14, 0, 0xdeadbef0), &r) && r.kind == SynReplyKind::kRst && r.rst_has_ack && r.cookie == 0xdeadbeef);
  CHECK(Parse(family, Reply(family, 0x04, 0xdeadbeef, 0), &r) && r.kind == SynReplyKind::kRst && !r.rst_has_ack && r.cookie == 0xdeadbeef);
  CHECK(Parse(family, Reply(family, 0x12, 1, 0), &r) && r.cookie == 0xffffffff);
  // Not answers to a SYN: a bare SYN, an ACK, a SYN-ACK-FIN, a FIN.
  for (uint8_t f : {0x02, 0x10, 0x13, 0x01, 0x18}) CHECK(!Parse(family, Reply(family, f, 1, 2), &r));
  // A data offset past the segment, and one below 5 words.
  Bytes b = Reply(family, 0x12, 1, 2);
  b[(family == 4 ? 20 : 40) + 12] = 0x60;
  CHECK(!Parse(family, b, &r));
  b[(family == 4 ? 20 : 40) + 12] = 0x40;
  CHECK(!Parse(family, b, &r));
  // Truncated anywhere: refused, never read past the end.
  Bytes whole = Reply(family, 0x12, 1, 2);
  for (size_t n = 0; n < whole.size(); n++) {
    Bytes cut(whole.begin(), whole.begin() + static_cast<long>(n));
    CHECK(!Parse(family, cut, &r));
  }
  // ICMP unreachable quoting the SYN: 8 bytes of TCP are enough; the code is kept.
  Bytes syn = Syn(family, 0xcafef00d);
  size_t ip = family == 4 ? 20 : 40;
  for (size_t q : {ip + 8, syn.size()}) {
    CHECK(Parse(family, Unreach(family, family == 4 ? 13 : 1, syn, q), &r));
    CHECK(r.kind == SynReplyKind::kUnreachable && r.cookie == 0xcafef00d && r.sport == 61005 && r.dport == 443);
    CHECK(r.icmp_code == (family == 4 ? 13 : 1) && r.icmp_type == (family == 4 ? 3 : 1));
    CHECK(std::memcmp(r.target, family == 4 ? kDst4 : kDst6, family == 4 ? 4 : 16) == 0);
  }
  if (family == 4) CHECK(std::memcmp(r.from, kRtr4, 4) == 0);
  CHECK(!Parse(family, Unreach(family, 3, syn, ip + 7), &r));  // quote too short for the seq
  Bytes other = Unreach(family, 3, syn, syn.size());
  other[ip] = family == 4 ? 11 : 3;  // time exceeded: not an answer here
  CHECK(!Parse(family, other, &r));
  Bytes udp = Unreach(family, 3, syn, syn.size());
  udp[ip + 8 + (family == 4 ? 9 : 6)] = 17;  // a quoted UDP datagram
  CHECK(!Parse(family, udp, &r));
}

static void TestFilters() {
  for (uint8_t c : {0, 1, 2, 3, 9, 10, 13}) CHECK(UnreachableFilters(4, c));
  for (uint8_t c : {4, 5, 6, 7, 8, 11, 12, 14, 15}) CHECK(!UnreachableFilters(4, c));
  for (uint8_t c = 0; c <= 6; c++) CHECK(UnreachableFilters(6, c));
  CHECK(!UnreachableFilters(6, 7));
}

int main(int argc, char** argv) {
  if (const char* dir = check::SeedDir(argc, argv)) {
    std::string d(dir);
    for (int f : {4, 6}) {
      int sel = f == 4 ? 0 : 1;
      std::string p = d + "/v" + std::to_string(f);
      check::WriteSeed(p + "-synack", sel, Reply(f, 0x12, 1, 2));
      check::WriteSeed(p + "-rst", sel, Reply(f, 0x14, 0, 2));
      check::WriteSeed(p + "-unreach", sel, Unreach(f, 13, Syn(f, 5), 64));
      check::WriteSeed(p + "-syn", sel, Syn(f, 5));
    }
    return check::failures == 0 ? 0 : 1;
  }
  TestSipHash();
  for (int f : {4, 6}) {
    TestBuild(f);
    TestParse(f);
  }
  TestFilters();
  return check::Finish("tcp_syn_test");
}
