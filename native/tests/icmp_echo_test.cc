// Unit tests of native/packet/icmp_echo.cc (no N-API, no sockets). Run by `make -C native/tests check`.
// With `--write-seeds DIR` it also writes the fuzzer's seed corpus (one file per packet shape).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "packet/icmp_echo.h"

using namespace sonde;


using Bytes = std::vector<uint8_t>;

static Bytes Echo(int family, uint16_t id, uint16_t seq, ProbeStamp st, size_t payload, bool reply) {
  Bytes b(8 + payload + 16);
  size_t n = BuildEchoRequest(b.data(), b.size(), family, id, seq, st, payload);
  b.resize(n);
  if (reply) {
    b[0] = family == 4 ? 0 : 129;
    if (family == 4) {
      b[2] = b[3] = 0;
      uint16_t c = InetChecksum(b.data(), b.size());
      b[2] = static_cast<uint8_t>(c >> 8);
      b[3] = static_cast<uint8_t>(c);
    }
  }
  return b;
}

static Bytes Ip4(const Bytes& payload, uint8_t ttl, const uint8_t src[4], const uint8_t dst[4]) {
  Bytes h(20, 0);
  h[0] = 0x45;
  size_t tot = 20 + payload.size();
  h[2] = static_cast<uint8_t>(tot >> 8);
  h[3] = static_cast<uint8_t>(tot);
  h[8] = ttl;
  h[9] = 1;
  std::memcpy(&h[12], src, 4);
  std::memcpy(&h[16], dst, 4);
  uint16_t c = InetChecksum(h.data(), 20);
  h[10] = static_cast<uint8_t>(c >> 8);
  h[11] = static_cast<uint8_t>(c);
  h.insert(h.end(), payload.begin(), payload.end());
  return h;
}

static Bytes Ip6(const Bytes& payload, const uint8_t dst[16]) {
  Bytes h(40, 0);
  h[0] = 0x60;
  h[4] = static_cast<uint8_t>(payload.size() >> 8);
  h[5] = static_cast<uint8_t>(payload.size());
  h[6] = 58;
  h[7] = 64;
  std::memcpy(&h[24], dst, 16);
  h.insert(h.end(), payload.begin(), payload.end());
  return h;
}

static Bytes Error4(uint8_t type, uint8_t code, const Bytes& quoted, uint16_t mtu) {
  Bytes b(8, 0);
  b[0] = type;
  b[1] = code;
  b[6] = static_cast<uint8_t>(mtu >> 8);
  b[7] = static_cast<uint8_t>(mtu);
  b.insert(b.end(), quoted.begin(), quoted.end());
  uint16_t c = InetChecksum(b.data(), b.size());
  b[2] = static_cast<uint8_t>(c >> 8);
  b[3] = static_cast<uint8_t>(c);
  return b;
}

static Bytes Error6(uint8_t type, uint8_t code, const Bytes& quoted, uint32_t info) {
  Bytes b(8, 0);
  b[0] = type;
  b[1] = code;
  for (int i = 0; i < 4; i++) b[4 + i] = static_cast<uint8_t>(info >> (24 - 8 * i));
  b.insert(b.end(), quoted.begin(), quoted.end());
  return b;
}

static const uint8_t kHost[4] = {198, 19, 201, 1}, kTarget[4] = {198, 19, 204, 2}, kRouter[4] = {198, 19, 202, 2};
static const uint8_t kTarget6[16] = {0xfd, 0x5e, 0xed, 0, 0x32, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static void TestBuildAndPatch() {
  std::mt19937 rng(7);
  for (int family : {4, 6}) {
    for (size_t payload : {0, 12, 13, 56, 1400}) {
      Bytes pkt = Echo(family, 1, 2, {3, 4, 5}, payload, false);
      CHECK(pkt.size() == 8 + (payload < 12 ? 12 : payload));
      if (family == 4) CHECK(InetChecksum(pkt.data(), pkt.size()) == 0);
      for (int i = 0; i < 200; i++) {
        uint16_t id = static_cast<uint16_t>(rng()), seq = static_cast<uint16_t>(rng());
        ProbeStamp st{static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng())};
        PatchEchoRequest(pkt.data(), pkt.size(), family, id, seq, st);
        Bytes fresh = Echo(family, id, seq, st, payload, false);
        CHECK(pkt == fresh);
      }
    }
  }
  uint8_t small[10];
  CHECK(BuildEchoRequest(small, sizeof(small), 4, 1, 1, {}, 56) == 0);
  CHECK(BuildEchoRequest(small, sizeof(small), 5, 1, 1, {}, 0) == 0);
}

// The one echo writer: header fields, and the checksum IPv4 and ICMPv6 (with a pseudo-header when
// the addresses are given; else 0 for the kernel) each need, checked against the reference sum.
static void TestWriteEchoRequest() {
  static const uint8_t kSrc6[16] = {0xfd, 0x5e, 0xed, 0, 0x32, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  for (int family : {4, 6}) {
    for (bool addrs : {false, true}) {
      Bytes b(8 + 33, 0);
      for (size_t i = 8; i < b.size(); i++) b[i] = static_cast<uint8_t>(i * 7);
      b[2] = b[3] = 0x55;  // whatever was there before
      size_t n = WriteEchoRequest(b.data(), family, 0xbeef, 0x0102, 33, addrs ? kSrc6 : nullptr, addrs ? kTarget6 : nullptr);
      CHECK(n == b.size());
      CHECK(b[0] == (family == 4 ? 8 : 128) && b[1] == 0 && b[4] == 0xbe && b[5] == 0xef && b[6] == 1 && b[7] == 2);
      uint16_t sum = static_cast<uint16_t>(b[2] << 8 | b[3]);
      if (family == 4) {
        CHECK(static_cast<uint16_t>(~check::ReferenceSum(b.data(), n, 0)) == 0);
      } else if (addrs) {
        uint32_t pseudo = check::ReferenceSum(kSrc6, 16, check::ReferenceSum(kTarget6, 16, 0)) + 58 + static_cast<uint32_t>(n);
        CHECK(static_cast<uint16_t>(~check::ReferenceSum(b.data(), n, pseudo)) == 0);
      } else {
        CHECK(sum == 0);
      }
    }
  }
}

static void TestReply4() {
  Bytes pkt = Ip4(Echo(4, 0x1234, 0x5678, {0xc0ffee, 42, 7}, 56, true), 61, kTarget, kHost);
  ParsedIcmp p;
  CHECK(ParseIcmp4(pkt.data(), pkt.size(), true, &p));
  CHECK(p.kind == IcmpKind::kEchoReply && p.id == 0x1234 && p.seq == 0x5678 && p.outer_ttl == 61);
  CHECK(std::memcmp(p.outer_src, kTarget, 4) == 0);
  ProbeStamp st;
  CHECK(ReadStamp(p.payload, p.payload_len, &st) && st.cookie == 0xc0ffee && st.slot == 42 && st.gen == 7);
  // A flipped payload bit breaks the ICMP checksum: not a reply.
  Bytes bad = pkt;
  bad[40] ^= 1;
  CHECK(!ParseIcmp4(bad.data(), bad.size(), true, &p));
  // Every truncation is rejected (the IP total length promises more), never read past the end.
  for (size_t n = 0; n < pkt.size(); n++) CHECK(!ParseIcmp4(pkt.data(), n, true, &p));
  // Later fragments and impossible header lengths are not ICMP messages.
  Bytes frag = pkt;
  frag[7] = 1;
  CHECK(!ParseIcmp4(frag.data(), frag.size(), true, &p));
  Bytes ihl = pkt;
  ihl[0] = 0x4f;
  CHECK(!ParseIcmp4(ihl.data(), 50, true, &p));
  // Ping sockets hand over the ICMP message alone.
  Bytes bare(pkt.begin() + 20, pkt.end());
  CHECK(ParseIcmp4(bare.data(), bare.size(), false, &p) && p.kind == IcmpKind::kEchoReply && !p.has_outer_ip);
}

static void TestErrors4() {
  Bytes req = Ip4(Echo(4, 0xabcd, 9, {1, 2, 3}, 56, false), 1, kHost, kTarget);
  ParsedIcmp p;
  Bytes te = Ip4(Error4(11, 0, req, 0), 63, kRouter, kHost);
  CHECK(ParseIcmp4(te.data(), te.size(), true, &p));
  CHECK(p.kind == IcmpKind::kTimeExceeded && p.has_original && p.orig_id == 0xabcd && p.orig_seq == 9);
  CHECK(std::memcmp(p.orig_dst, kTarget, 4) == 0 && std::memcmp(p.outer_src, kRouter, 4) == 0);
  ProbeStamp st;
  CHECK(ReadStamp(p.orig_payload, p.orig_payload_len, &st) && st.slot == 2 && st.gen == 3);
  // RFC 792 minimum quote: IP header + 8 bytes. The echo header is there, the stamp is not.
  Bytes shortq(req.begin(), req.begin() + 28);
  Bytes un = Ip4(Error4(3, 1, shortq, 0), 62, kRouter, kHost);
  CHECK(ParseIcmp4(un.data(), un.size(), true, &p));
  CHECK(p.kind == IcmpKind::kUnreachable && p.code == 1 && p.has_original && p.orig_seq == 9 && p.orig_payload_len == 0);
  CHECK(!ReadStamp(p.orig_payload, p.orig_payload_len, &st));
  // Less than the echo header quoted: an error, but not attributable to a probe.
  Bytes tiny(req.begin(), req.begin() + 24);
  Bytes un2 = Ip4(Error4(3, 1, tiny, 0), 62, kRouter, kHost);
  CHECK(ParseIcmp4(un2.data(), un2.size(), true, &p) && !p.has_original);
  // Fragmentation needed carries the next-hop MTU (RFC 1191).
  Bytes fn = Ip4(Error4(3, 4, req, 1280), 62, kRouter, kHost);
  CHECK(ParseIcmp4(fn.data(), fn.size(), true, &p) && p.kind == IcmpKind::kPacketTooBig && p.info == 1280);
}

static void TestErrors6() {
  Bytes req = Ip6(Echo(6, 0x4242, 77, {9, 8, 7}, 56, false), kTarget6);
  ParsedIcmp p;
  Bytes un = Error6(1, 3, req, 0);
  CHECK(ParseIcmp6(un.data(), un.size(), &p));
  CHECK(p.kind == IcmpKind::kUnreachable && p.code == 3 && p.has_original && p.orig_id == 0x4242 && p.orig_seq == 77);
  CHECK(std::memcmp(p.orig_dst, kTarget6, 16) == 0);
  ProbeStamp st;
  CHECK(ReadStamp(p.orig_payload, p.orig_payload_len, &st) && st.cookie == 9 && st.slot == 8 && st.gen == 7);
  Bytes ptb = Error6(2, 0, req, 1280);
  CHECK(ParseIcmp6(ptb.data(), ptb.size(), &p) && p.kind == IcmpKind::kPacketTooBig && p.info == 1280);
  Bytes te = Error6(3, 0, Bytes(req.begin(), req.begin() + 48), 0);
  CHECK(ParseIcmp6(te.data(), te.size(), &p) && p.kind == IcmpKind::kTimeExceeded && p.has_original && p.orig_payload_len == 0);
  Bytes reply = Echo(6, 1, 2, {5, 6, 7}, 56, true);
  CHECK(ParseIcmp6(reply.data(), reply.size(), &p) && p.kind == IcmpKind::kEchoReply && p.seq == 2);
  for (size_t n = 0; n < 8; n++) CHECK(!ParseIcmp6(un.data(), n, &p));
  for (size_t n = 8; n < un.size(); n++) {
    CHECK(ParseIcmp6(un.data(), n, &p));
    CHECK(!p.has_original || p.orig_payload + p.orig_payload_len <= un.data() + n);
  }
  ParsedIcmp q;
  CHECK(ParseQuotedEcho(req.data() + 40, 8, 6, &q) && q.seq == 77 && q.payload_len == 0);
  CHECK(!ParseQuotedEcho(req.data() + 40, 7, 6, &q));
}

static void WriteSeeds(const std::string& dir) {
  // Seed format (fuzz/icmp_echo.cc): first byte selects the parser, the rest is the packet.
  Bytes req4 = Ip4(Echo(4, 1, 2, {3, 4, 5}, 56, false), 1, kHost, kTarget);
  Bytes req6 = Ip6(Echo(6, 1, 2, {3, 4, 5}, 56, false), kTarget6);
  std::vector<std::pair<uint8_t, Bytes>> seeds = {
      {0, Ip4(Echo(4, 1, 2, {3, 4, 5}, 56, true), 61, kTarget, kHost)},
      {0, Ip4(Error4(11, 0, req4, 0), 63, kRouter, kHost)},
      {0, Ip4(Error4(3, 4, req4, 1280), 63, kRouter, kHost)},
      {1, Echo(4, 1, 2, {3, 4, 5}, 56, true)},
      {2, Error6(1, 3, req6, 0)},
      {2, Error6(2, 0, req6, 1280)},
      {2, Echo(6, 1, 2, {3, 4, 5}, 56, true)},
      {3, Echo(6, 1, 2, {3, 4, 5}, 20, false)},
  };
  int i = 0;
  for (auto& [sel, b] : seeds) check::WriteSeed(dir + "/seed" + std::to_string(i++), sel, b);
}

int main(int argc, char** argv) {
  if (const char* dir = check::SeedDir(argc, argv)) {
    WriteSeeds(dir);
    return check::Finish("icmp_echo_test --write-seeds");
  }
  TestBuildAndPatch();
  TestWriteEchoRequest();
  TestReply4();
  TestErrors4();
  TestErrors6();
  return check::Finish("icmp_echo_test");
}
