// Unit tests of native/packet/trace.cc (no N-API, no sockets). Run by `make -C native/tests check`.
// With `--write-seeds DIR` it also writes the trace fuzzer's seed corpus.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "packet/trace.h"

using namespace sonde;
using Bytes = std::vector<uint8_t>;


static const uint8_t kSrc4[4] = {198, 19, 201, 1}, kDst4[4] = {198, 19, 204, 2}, kRtr4[4] = {198, 19, 202, 2};
static const uint8_t kSrc6[16] = {0xfd, 0x5e, 0xed, 0, 0x32, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t kDst6[16] = {0xfd, 0x5e, 0xed, 0, 0x32, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static uint16_t G16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

using check::ReferenceSum;

static Bytes Probe(int family, uint8_t proto, uint16_t key, uint16_t gen, size_t payload = 24) {
  TraceProbe p;
  p.family = family;
  p.proto = proto;
  p.ttl = 3;
  p.flow = 40001;
  p.dport = 33434;
  p.key = key;
  p.gen = gen;
  p.cookie = 0xc0ffee11;
  p.src = family == 4 ? kSrc4 : kSrc6;
  p.dst = family == 4 ? kDst4 : kDst6;
  p.payload_len = payload;
  Bytes b(1600);
  b.resize(BuildTraceProbe(b.data(), b.size(), p));
  return b;
}

// An ICMPv4 error from kRtr4 quoting `quote` bytes of the IPv4 probe.
static Bytes Error4(uint8_t type, uint8_t code, const Bytes& probe, size_t quote) {
  quote = std::min(quote, probe.size());
  Bytes b(20 + 8 + quote, 0);
  b[0] = 0x45;
  b[2] = static_cast<uint8_t>(b.size() >> 8);
  b[3] = static_cast<uint8_t>(b.size());
  b[8] = 63;
  b[9] = 1;
  std::memcpy(&b[12], kRtr4, 4);
  std::memcpy(&b[16], kSrc4, 4);
  b[20] = type;
  b[21] = code;
  std::memcpy(&b[28], probe.data(), quote);
  uint16_t c = static_cast<uint16_t>(~ReferenceSum(&b[20], b.size() - 20, 0));
  b[22] = static_cast<uint8_t>(c >> 8);
  b[23] = static_cast<uint8_t>(c);
  return b;
}

// An ICMPv6 error quoting the IPv6 probe (IPv6 header rebuilt around the transport bytes).
static Bytes Error6(uint8_t type, const Bytes& l4, uint8_t nh) {
  Bytes b(8 + 40 + l4.size(), 0);
  b[0] = type;
  uint8_t* ip = &b[8];
  ip[0] = 0x60;
  ip[4] = static_cast<uint8_t>(l4.size() >> 8);
  ip[5] = static_cast<uint8_t>(l4.size());
  ip[6] = nh;
  ip[7] = 1;
  std::memcpy(ip + 8, kSrc6, 16);
  std::memcpy(ip + 24, kDst6, 16);
  std::memcpy(ip + 40, l4.data(), l4.size());
  return b;
}

static void TestIcmpChecksumIsConstantPerFlow() {
  for (int family : {4, 6}) {
    Bytes a = Probe(family, kProtoIcmp, 1, 1), b = Probe(family, kProtoIcmp, 777, 2), c = Probe(family, kProtoIcmp, 65535, 65535);
    size_t off = family == 4 ? 20 : 0;
    CHECK(!a.empty() && a.size() == b.size());
    // type, code, checksum, identifier: the bytes ECMP hashes on, equal for every probe of the flow.
    CHECK(std::memcmp(&a[off], &b[off], 6) == 0);
    CHECK(std::memcmp(&a[off], &c[off], 6) == 0);
    CHECK(G16(&a[off + 6]) == 1 && G16(&b[off + 6]) == 777);  // the sequence differs
    uint32_t pseudo = 0;
    if (family == 6) {
      pseudo = ReferenceSum(kSrc6, 16, ReferenceSum(kDst6, 16, 0)) + 58 + static_cast<uint32_t>(a.size());
    }
    for (const Bytes* x : {&a, &b, &c}) CHECK(static_cast<uint16_t>(~ReferenceSum(&(*x)[off], x->size() - off, pseudo)) == 0);
  }
}

static void TestIpv4Header() {
  Bytes u = Probe(4, kProtoUdp, 4242, 9);
  CHECK(u.size() == 20 + 8 + 24);
  CHECK(u[0] == 0x45 && u[8] == 3 && u[9] == 17);
  CHECK(G16(&u[4]) == 4242);  // IPv4 ID = key
  CHECK(static_cast<uint16_t>(~ReferenceSum(u.data(), 20, 0)) == 0);
  CHECK(G16(&u[20]) == 40001 && G16(&u[22]) == 33434 && G16(&u[24]) == 32);
  Bytes t = Probe(4, kProtoTcp, 5, 6);
  CHECK(t.size() == 20 + 24 && t[33] == 0x02);
  uint32_t pseudo = ReferenceSum(kSrc4, 4, ReferenceSum(kDst4, 4, 0)) + 6 + 24;
  CHECK(static_cast<uint16_t>(~ReferenceSum(&t[20], 24, pseudo)) == 0);  // valid TCP checksum
  TraceProbe bad;
  bad.dst = kDst4;  // IPv4 without a source cannot be built
  uint8_t buf[64];
  CHECK(BuildTraceProbe(buf, sizeof(buf), bad) == 0);
  CHECK(BuildTraceProbe(buf, 10, TraceProbe{}) == 0);
}

static void TestQuotedProbesMatchBack() {
  struct Case {
    const char* what;
    uint8_t proto;
    size_t quote;
    bool gen;
  } cases[] = {
      {"icmp, RFC 792 minimum quote", kProtoIcmp, 28, false},
      {"icmp, full quote", kProtoIcmp, 200, true},
      {"udp, minimum quote: key from the IPv4 ID", kProtoUdp, 28, false},
      {"udp, full quote", kProtoUdp, 200, true},
      {"tcp, minimum quote: key and generation from the sequence", kProtoTcp, 28, true},
  };
  for (const Case& c : cases) {
    Bytes probe = Probe(4, c.proto, 300, 17);
    Bytes err = Error4(11, 0, probe, c.quote);
    TraceParsed p;
    bool ok = ParseTrace4(err.data(), err.size(), &p);
    CHECK(ok);
    if (!ok) {
      std::fprintf(stderr, "  case: %s\n", c.what);
      continue;
    }
    CHECK(p.msg == TraceMsg::kTimeExceeded);
    CHECK(p.has_from && std::memcmp(p.from, kRtr4, 4) == 0);
    CHECK(std::memcmp(p.dst, kDst4, 4) == 0);
    CHECK(p.proto == c.proto && p.flow == 40001 && p.has_key && p.key == 300);
    CHECK(p.quoted_ttl == 3);
    CHECK(p.has_gen == c.gen);
    if (c.gen) CHECK(p.gen == 17);
    if (c.proto != kProtoIcmp) CHECK(p.dport == 33434);
  }
  // A quoted later fragment carries no transport header: its bytes must not be read as one.
  Bytes frag = Error4(11, 0, Probe(4, kProtoUdp, 300, 17), 200);
  frag[28 + 7] = 0xb9;  // fragment offset 185 (x 8 bytes) in the quoted header
  frag[22] = frag[23] = 0;
  uint16_t fc = static_cast<uint16_t>(~ReferenceSum(&frag[20], frag.size() - 20, 0));
  frag[22] = static_cast<uint8_t>(fc >> 8);
  frag[23] = static_cast<uint8_t>(fc);
  TraceParsed fp;
  CHECK(!ParseTrace4(frag.data(), frag.size(), &fp));
  // Every truncation of a valid error is either rejected or parsed without reading past the end.
  Bytes full = Error4(3, 3, Probe(4, kProtoUdp, 9, 9), 200);
  for (size_t n = 0; n < full.size(); n++) {
    Bytes cut(full.begin(), full.begin() + static_cast<long>(n));
    TraceParsed p;
    CHECK(!ParseTrace4(cut.empty() ? nullptr : cut.data(), cut.size(), &p));  // total length says more
  }
}

static void TestIpv6AndTcpAnswers() {
  for (uint8_t proto : {kProtoIcmp, kProtoUdp, kProtoTcp}) {
    Bytes l4 = Probe(6, proto, 1234, 55);
    Bytes err = Error6(3, l4, proto == kProtoIcmp ? 58 : proto);
    TraceParsed p;
    CHECK(ParseTrace6Icmp(err.data(), err.size(), &p));
    CHECK(p.msg == TraceMsg::kTimeExceeded && p.proto == proto && p.key == 1234 && p.has_gen && p.gen == 55);
    CHECK(std::memcmp(p.dst, kDst6, 16) == 0);
    // Quoting only 8 bytes of a UDP probe leaves no key in IPv6 (no IPv4 ID): not a match.
    Bytes shortq(err.begin(), err.begin() + 8 + 40 + 8);
    shortq[8 + 4] = 0;
    shortq[8 + 5] = 8;
    TraceParsed q;
    if (ParseTrace6Icmp(shortq.data(), shortq.size(), &q)) CHECK(proto != kProtoUdp || !q.has_key);
  }
  // A SYN-ACK acknowledging seq + 1 names the probe; a bare SYN does not.
  Bytes syn = Probe(6, kProtoTcp, 77, 88);
  Bytes synack(20, 0);
  synack[0] = syn[2], synack[1] = syn[3], synack[2] = syn[0], synack[3] = syn[1];
  uint32_t ack = ((77u << 16) | 88u) + 1;
  synack[8] = static_cast<uint8_t>(ack >> 24), synack[9] = static_cast<uint8_t>(ack >> 16);
  synack[10] = static_cast<uint8_t>(ack >> 8), synack[11] = static_cast<uint8_t>(ack);
  synack[12] = 0x50;
  synack[13] = 0x12;
  TraceParsed p;
  CHECK(ParseTrace6Tcp(synack.data(), synack.size(), kDst6, &p));
  CHECK(p.msg == TraceMsg::kTcpSynAck && p.key == 77 && p.gen == 88 && p.flow == 40001 && p.dport == 33434);
  synack[13] = 0x14;  // RST+ACK: port closed
  CHECK(ParseTrace6Tcp(synack.data(), synack.size(), kDst6, &p) && p.msg == TraceMsg::kTcpRst);
  synack[13] = 0x02;
  CHECK(!ParseTrace6Tcp(synack.data(), synack.size(), kDst6, &p));
  CHECK(!ParseTrace6Tcp(synack.data(), 19, kDst6, &p));
}

static void WriteSeeds(const std::string& dir) {
  auto put = [&](const std::string& name, uint8_t sel, const Bytes& b) { check::WriteSeed(dir + "/" + name, sel, b); };
  put("te4-icmp", 0, Error4(11, 0, Probe(4, kProtoIcmp, 3, 4), 200));
  put("te4-udp", 0, Error4(11, 0, Probe(4, kProtoUdp, 3, 4), 28));
  put("un4-tcp", 0, Error4(3, 4, Probe(4, kProtoTcp, 3, 4), 44));
  put("te6-udp", 1, Error6(3, Probe(6, kProtoUdp, 3, 4), 17));
  put("te6-icmp", 1, Error6(1, Probe(6, kProtoIcmp, 3, 4), 58));
}

int main(int argc, char** argv) {
  if (const char* dir = check::SeedDir(argc, argv)) {
    WriteSeeds(dir);
    return check::Finish("trace_test --write-seeds");
  }
  TestIcmpChecksumIsConstantPerFlow();
  TestIpv4Header();
  TestQuotedProbesMatchBack();
  TestIpv6AndTcpAnswers();
  return check::Finish("trace_test");
}
