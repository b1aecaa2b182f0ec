// Unit tests of native/ndp.cc: RS building, RA parsing with every option we interpret, and the
// RFC 4861 §6.1.2 rules (zero-length option, truncation, envelope checks). With
// `--write-seeds DIR` it writes the RA fuzzer's seed corpus.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "packet/ndp.h"

using namespace sonde;
using Bytes = std::vector<uint8_t>;


static void Put32(Bytes* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(static_cast<uint8_t>(v >> s));
}

static Ip6Bytes Addr(std::initializer_list<uint8_t> head) {
  Ip6Bytes a{};
  size_t i = 0;
  for (uint8_t x : head) a[i++] = x;
  return a;
}

// RA header: hop limit 64, M=1 O=0, preference high (01), lifetime 1800, reachable 30000, retrans 1000.
static Bytes Header() {
  Bytes b = {134, 0, 0, 0, 64, 0x80 | 0x08, 0x07, 0x08};
  Put32(&b, 30000);
  Put32(&b, 1000);
  return b;
}

static void Prefix(Bytes* b, Ip6Bytes p, uint8_t len, uint8_t flags, uint32_t valid, uint32_t pref) {
  b->insert(b->end(), {3, 4, len, flags});
  Put32(b, valid);
  Put32(b, pref);
  Put32(b, 0);
  b->insert(b->end(), p.begin(), p.end());
}

static void Mtu(Bytes* b, uint32_t mtu) {
  b->insert(b->end(), {5, 1, 0, 0});
  Put32(b, mtu);
}

static void Rdnss(Bytes* b, uint32_t life, std::vector<Ip6Bytes> servers) {
  b->insert(b->end(), {25, static_cast<uint8_t>(1 + 2 * servers.size()), 0, 0});
  Put32(b, life);
  for (auto& s : servers) b->insert(b->end(), s.begin(), s.end());
}

static void Dnssl(Bytes* b, uint32_t life, const Bytes& names) {
  size_t n = 8 + names.size();
  size_t units = (n + 7) / 8;
  b->insert(b->end(), {31, static_cast<uint8_t>(units), 0, 0});
  Put32(b, life);
  b->insert(b->end(), names.begin(), names.end());
  b->resize(b->size() + units * 8 - n, 0);
}

static Bytes Full() {
  Bytes b = Header();
  b.insert(b.end(), {1, 1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55});
  Prefix(&b, Addr({0xfd, 0x5e, 0xed, 0x00, 0, 0x61}), 64, 0xc0, 86400, 14400);
  Prefix(&b, Addr({0xfd, 0x5e, 0xed, 0x00, 0, 0x62}), 64, 0x80, 7200, 3600);
  Mtu(&b, 1400);
  Rdnss(&b, 600, {Addr({0xfd, 0x5e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53})});
  Dnssl(&b, 900, {3, 'l', 'a', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 1, 'x', 0});
  // Route information, /48 (length 2), preference low (11)
  b.insert(b.end(), {24, 2, 48, 0x18});
  Put32(&b, 1800);
  b.insert(b.end(), {0xfd, 0x5e, 0xed, 0x00, 0, 0x99, 0, 0});
  // An option type we do not interpret (PREF64, RFC 8781)
  b.insert(b.end(), {38, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  return b;
}

static void TestFull() {
  Bytes b = Full();
  RouterAdvert ra;
  CHECK(ParseRouterAdvert(b.data(), b.size(), &ra) == RaParseStatus::kOk);
  CHECK(ra.cur_hop_limit == 64);
  CHECK(ra.managed && !ra.other);
  CHECK(ra.preference == RouterPreference::kHigh);
  CHECK(ra.router_lifetime == 1800);
  CHECK(ra.reachable_time == 30000 && ra.retrans_timer == 1000);
  CHECK(ra.has_mtu && ra.mtu == 1400);
  CHECK((ra.source_lladdr == Bytes{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}));
  CHECK(ra.prefixes.size() == 2);
  CHECK(ra.prefixes[0].on_link && ra.prefixes[0].autonomous && ra.prefixes[0].length == 64);
  CHECK(ra.prefixes[0].valid_lifetime == 86400 && ra.prefixes[0].preferred_lifetime == 14400);
  CHECK(ra.prefixes[1].on_link && !ra.prefixes[1].autonomous);
  CHECK(ra.prefixes[1].prefix[5] == 0x62);
  CHECK(ra.rdnss.size() == 1 && ra.rdnss[0].lifetime == 600 && ra.rdnss[0].servers.size() == 1);
  CHECK(ra.rdnss[0].servers[0][15] == 0x53);
  CHECK(ra.dnssl.size() == 1 && ra.dnssl[0].lifetime == 900);
  CHECK((ra.dnssl[0].domains == std::vector<std::string>{"lab.example", "x"}));
  CHECK(ra.routes.size() == 1 && ra.routes[0].length == 48 && ra.routes[0].lifetime == 1800);
  CHECK(ra.routes[0].preference == RouterPreference::kLow && ra.routes[0].prefix[5] == 0x99);
  CHECK((ra.unknown_options == Bytes{38}));
  CHECK(ra.ignored_options == 0);
}

static void TestFraming() {
  Bytes b = Full();
  RouterAdvert ra;
  CHECK(ParseRouterAdvert(b.data(), 15, &ra) == RaParseStatus::kTooShort);
  CHECK(ParseRouterAdvert(nullptr, 0, &ra) == RaParseStatus::kTooShort);
  CHECK(ParseRouterAdvert(b.data(), b.size() - 1, &ra) == RaParseStatus::kTruncatedOption);
  Bytes odd = Header();
  odd.push_back(1);  // one byte of an option header
  CHECK(ParseRouterAdvert(odd.data(), odd.size(), &ra) == RaParseStatus::kTruncatedOption);
  Bytes zero = Header();
  zero.insert(zero.end(), {1, 0, 0, 0, 0, 0, 0, 0});
  CHECK(ParseRouterAdvert(zero.data(), zero.size(), &ra) == RaParseStatus::kZeroLengthOption);
  Bytes t = Header();
  t[0] = 133;
  CHECK(ParseRouterAdvert(t.data(), t.size(), &ra) == RaParseStatus::kNotAdvert);
  t[0] = 134;
  t[1] = 1;
  CHECK(ParseRouterAdvert(t.data(), t.size(), &ra) == RaParseStatus::kBadCode);
}

static void TestMalformedBodiesAreIgnored() {
  Bytes b = Header();
  b.insert(b.end(), {25, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});  // RDNSS length must be odd >= 3
  b.insert(b.end(), {3, 1, 64, 0xc0, 0, 0, 0, 1});                      // PIO length must be 4
  Prefix(&b, Addr({0xfd}), 129, 0xc0, 1, 1);                             // prefix length > 128
  b.insert(b.end(), {24, 1, 0, 0x10, 0, 0, 0, 1});                       // reserved route preference (10)
  b.insert(b.end(), {24, 1, 48, 0x00, 0, 0, 0, 1});                      // /48 needs length >= 2
  Dnssl(&b, 1, {0xc0, 0x0c, 0});                                         // compression pointer
  Dnssl(&b, 1, {2, 'a', 'b', 0, 0, 0, 0, 0, 9});                         // non-zero padding
  b.insert(b.end(), {5, 2, 0, 0, 0, 0, 5, 0xdc, 0, 0, 0, 0, 0, 0, 0, 0});  // MTU length must be 1
  RouterAdvert ra;
  CHECK(ParseRouterAdvert(b.data(), b.size(), &ra) == RaParseStatus::kOk);
  CHECK(ra.ignored_options == 8);
  CHECK(ra.rdnss.empty() && ra.prefixes.empty() && ra.routes.empty() && ra.dnssl.empty() && !ra.has_mtu);
}

static void TestDnsslEscapes() {
  Bytes b = Header();
  Dnssl(&b, 5, {3, 'a', '.', 'b', 2, 'c', ' ', 0});
  RouterAdvert ra;
  CHECK(ParseRouterAdvert(b.data(), b.size(), &ra) == RaParseStatus::kOk);
  CHECK(ra.dnssl.size() == 1 && ra.dnssl[0].domains.size() == 1);
  CHECK(ra.dnssl[0].domains[0] == "a\\046b.c\\032");
}

static void TestPreferenceAndEnvelope() {
  Bytes b = Header();
  RouterAdvert ra;
  b[5] = 0x18;  // 11: low
  ParseRouterAdvert(b.data(), b.size(), &ra);
  CHECK(ra.preference == RouterPreference::kLow);
  b[5] = 0x10;  // 10: reserved
  ParseRouterAdvert(b.data(), b.size(), &ra);
  CHECK(ra.preference == RouterPreference::kReserved);
  b[5] = 0x40 | 0x20 | 0x04;  // O, H, P; preference medium
  ParseRouterAdvert(b.data(), b.size(), &ra);
  CHECK(ra.other && ra.home_agent && ra.proxy && !ra.managed && ra.preference == RouterPreference::kMedium);

  CHECK(CheckRaEnvelope(Addr({0xfe, 0x80}), 255) == RaEnvelopeStatus::kOk);
  CHECK(CheckRaEnvelope(Addr({0xfe, 0xbf}), 255) == RaEnvelopeStatus::kOk);
  CHECK(CheckRaEnvelope(Addr({0xfe, 0xc0}), 255) == RaEnvelopeStatus::kSourceNotLinkLocal);
  CHECK(CheckRaEnvelope(Addr({0xfd, 0x5e}), 255) == RaEnvelopeStatus::kSourceNotLinkLocal);
  CHECK(CheckRaEnvelope(Addr({0xfe, 0x80}), 254) == RaEnvelopeStatus::kHopLimitNot255);
  CHECK(CheckRaEnvelope(Addr({0xfe, 0x80}), -1) == RaEnvelopeStatus::kHopLimitNot255);
}

static void TestSolicitation() {
  Bytes bare = BuildRouterSolicitation(nullptr, 0);
  CHECK((bare == Bytes{133, 0, 0, 0, 0, 0, 0, 0}));
  const uint8_t mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  Bytes rs = BuildRouterSolicitation(mac, 6);
  CHECK((rs == Bytes{133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}));
  const uint8_t ib[20] = {1};  // a 20-byte (InfiniBand) address pads to 24 bytes, length 3
  Bytes big = BuildRouterSolicitation(ib, 20);
  CHECK(big.size() == 32 && big[9] == 3 && big[10] == 1 && big[31] == 0);
}

static void WriteSeeds(const char* dir) {
  std::vector<Bytes> seeds = {Full(), Header()};
  Bytes d = Header();
  Dnssl(&d, 1, {3, 'a', 'b', 'c', 0});
  seeds.push_back(d);
  for (size_t i = 0; i < seeds.size(); i++) check::WriteSeed(std::string(dir) + "/ra" + std::to_string(i), -1, seeds[i]);
}

int main(int argc, char** argv) {
  if (const char* dir = check::SeedDir(argc, argv)) {
    WriteSeeds(dir);
    return check::Finish("ndp_test --write-seeds");
  }
  TestFull();
  TestFraming();
  TestMalformedBodiesAreIgnored();
  TestDnsslEscapes();
  TestPreferenceAndEnvelope();
  TestSolicitation();
  return check::Finish("ndp_test");
}
