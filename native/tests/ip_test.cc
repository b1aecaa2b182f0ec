// Unit tests of packet/ip.cc, the IP header checks both ICMP parsers (packet/icmp_echo.cc,
// packet/trace.cc) make: a table of headers, each with what the check must say. Run by
// `make -C native/tests ip-unit`; the parsers' tests and fuzzers cover it in context.
#include <cstdio>
#include <cstring>
#include <vector>

#include "check.h"
#include "packet/ip.h"

using namespace sonde;
using Bytes = std::vector<uint8_t>;

namespace {

// An IPv4 header (IHL ihl words) claiming total length `tot`, followed by `body` bytes.
Bytes Ip4(uint8_t ihl, uint16_t tot, size_t body, uint16_t frag = 0, uint8_t version = 4) {
  Bytes b(static_cast<size_t>(ihl) * 4 + body, 0xab);
  if (b.size() < 20) b.resize(20, 0xab);
  b[0] = static_cast<uint8_t>(version << 4 | ihl);
  b[2] = static_cast<uint8_t>(tot >> 8);
  b[3] = static_cast<uint8_t>(tot);
  b[6] = static_cast<uint8_t>(frag >> 8);
  b[7] = static_cast<uint8_t>(frag);
  b[8] = 7;  // TTL
  b[9] = kProtoUdp;
  for (int i = 0; i < 4; i++) b[12 + i] = static_cast<uint8_t>(10 + i), b[16 + i] = static_cast<uint8_t>(20 + i);
  return b;
}

void TestReceived() {
  struct Case {
    const char* what;
    Bytes pkt;
    size_t len;  // bytes offered to the check
    bool ok;
    size_t header_len, total_len;
  } cases[] = {
      {"plain header and 8 bytes", Ip4(5, 28, 8), 28, true, 20, 28},
      {"options: IHL 6", Ip4(6, 32, 8), 32, true, 24, 32},
      {"bytes past the total length are not the datagram's", Ip4(5, 28, 20), 40, true, 20, 28},
      {"truncated read: total length says more", Ip4(5, 40, 8), 28, false, 0, 0},
      {"total length shorter than the header", Ip4(6, 20, 8), 32, false, 0, 0},
      {"IHL below 5", Ip4(4, 28, 12), 28, false, 0, 0},
      {"IHL past the read", Ip4(15, 28, 0), 28, false, 0, 0},
      {"not version 4", Ip4(5, 28, 8, 0, 6), 28, false, 0, 0},
      {"a later fragment", Ip4(5, 28, 8, 0x0001), 28, false, 0, 0},
      {"first fragment, more fragments set: still has the transport header", Ip4(5, 28, 8, 0x2000), 28, true, 20, 28},
      {"DF set", Ip4(5, 28, 8, 0x4000), 28, true, 20, 28},
      {"shorter than 20 bytes", Ip4(5, 28, 8), 19, false, 0, 0},
  };
  for (const Case& c : cases) {
    Ip4Header h;
    bool ok = ReadIp4Header(c.pkt.data(), c.len, &h);
    bool right = ok == c.ok && (!ok || (h.header_len == c.header_len && h.total_len == c.total_len && h.ttl == 7 &&
                                        h.proto == kProtoUdp && h.src == c.pkt.data() + 12 && h.dst == c.pkt.data() + 16));
    CHECK(right);
    if (!right) std::fprintf(stderr, "  case: %s\n", c.what);
  }
  Ip4Header h;
  CHECK(!ReadIp4Header(nullptr, 0, &h));
}

void TestQuoted() {
  struct Case {
    const char* what;
    Bytes pkt;
    size_t len;
    size_t min_l4;
    bool ok;
    size_t total_len;
  } cases[] = {
      {"RFC 792 minimum quote", Ip4(5, 28, 8), 28, 8, true, 28},
      {"quote shorter than the total length says (routers may)", Ip4(5, 100, 8), 28, 8, true, 28},
      {"quote longer than the total length: cut to it", Ip4(5, 40, 40), 60, 8, true, 40},
      {"total length too small to be true: the quote's length", Ip4(5, 24, 40), 60, 8, true, 60},
      {"less than min_l4 after the header", Ip4(5, 28, 7), 27, 8, false, 0},
      {"options leave too little", Ip4(6, 32, 4), 28, 8, false, 0},
      {"a later fragment quotes no transport header", Ip4(5, 28, 8, 0x00b9), 28, 8, false, 0},
      {"IHL below 5", Ip4(3, 28, 16), 28, 8, false, 0},
      {"not version 4", Ip4(5, 28, 8, 0, 6), 28, 8, false, 0},
  };
  for (const Case& c : cases) {
    Ip4Header h;
    bool ok = ReadQuotedIp4Header(c.pkt.data(), c.len, c.min_l4, &h);
    bool right = ok == c.ok && (!ok || h.total_len == c.total_len);
    CHECK(right);
    if (!right) std::fprintf(stderr, "  case: %s\n", c.what);
  }
}

// An IPv6 header with payload length plen, next header nh, followed by `body` bytes.
Bytes Ip6(uint16_t plen, uint8_t nh, size_t body, uint8_t version = 6) {
  Bytes b(40 + body, 0xcd);
  b[0] = static_cast<uint8_t>(version << 4);
  b[4] = static_cast<uint8_t>(plen >> 8);
  b[5] = static_cast<uint8_t>(plen);
  b[6] = nh;
  b[7] = 3;
  return b;
}

void TestQuoted6() {
  struct Case {
    const char* what;
    Bytes pkt;
    size_t min_l4;
    bool ok;
    size_t total_len;
  } cases[] = {
      {"header and 8 bytes", Ip6(8, kProtoIcmp6, 8), 8, true, 48},
      {"quote cut short of the payload length", Ip6(1000, kProtoUdp, 32), 8, true, 72},
      {"quote longer than the payload length: cut to it", Ip6(16, kProtoUdp, 64), 8, true, 56},
      {"payload length too small to be true: the quote's length", Ip6(4, kProtoUdp, 16), 8, true, 56},
      {"less than min_l4 after the header", Ip6(8, kProtoUdp, 7), 8, false, 0},
      {"not version 6", Ip6(8, kProtoUdp, 8, 4), 8, false, 0},
  };
  for (const Case& c : cases) {
    Ip6Header h;
    bool ok = ReadQuotedIp6Header(c.pkt.data(), c.pkt.size(), c.min_l4, &h);
    bool right = ok == c.ok && (!ok || (h.total_len == c.total_len && h.hop_limit == 3 && h.next_header == c.pkt[6] &&
                                        h.src == c.pkt.data() + 8 && h.dst == c.pkt.data() + 24));
    CHECK(right);
    if (!right) std::fprintf(stderr, "  case: %s\n", c.what);
  }
  Ip6Header h;
  CHECK(!ReadQuotedIp6Header(nullptr, 0, 8, &h));
}

}  // namespace

int main() {
  TestReceived();
  TestQuoted();
  TestQuoted6();
  return check::Finish("ip_test");
}
