// IPv6 Neighbor Discovery messages for router discovery (RFC 4861): building a Router
// Solicitation and parsing a Router Advertisement. Plain C++ with no sockets and no N-API, so it
// can be unit-tested and fuzzed alone (native/tests/ndp_test.cc, fuzz_ndp.cc).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sonde {

using Ip6Bytes = std::array<uint8_t, 16>;

// RFC 4191 §2.1: the 2-bit preference. 10 (reserved) is not a value a receiver may act on.
enum class RouterPreference : int8_t { kLow = -1, kMedium = 0, kHigh = 1, kReserved = 2 };

struct RaPrefix {  // RFC 4861 §4.6.2
  Ip6Bytes prefix{};
  uint8_t length = 0;
  bool on_link = false;     // L
  bool autonomous = false;  // A
  uint32_t valid_lifetime = 0;
  uint32_t preferred_lifetime = 0;
};

struct RaRoute {  // RFC 4191 §2.3
  Ip6Bytes prefix{};
  uint8_t length = 0;
  RouterPreference preference = RouterPreference::kMedium;
  uint32_t lifetime = 0;
};

struct RaRdnss {  // RFC 8106 §5.1
  uint32_t lifetime = 0;
  std::vector<Ip6Bytes> servers;
};

struct RaDnssl {  // RFC 8106 §5.2
  uint32_t lifetime = 0;
  std::vector<std::string> domains;
};

struct RouterAdvert {
  uint8_t cur_hop_limit = 0;
  bool managed = false;     // M: addresses from DHCPv6
  bool other = false;       // O: other configuration from DHCPv6
  bool home_agent = false;  // H (RFC 6275)
  bool proxy = false;       // P (RFC 4389)
  RouterPreference preference = RouterPreference::kMedium;
  uint16_t router_lifetime = 0;
  uint32_t reachable_time = 0;
  uint32_t retrans_timer = 0;
  bool has_mtu = false;
  uint32_t mtu = 0;
  std::vector<uint8_t> source_lladdr;  // empty when the option is absent
  std::vector<RaPrefix> prefixes;
  std::vector<RaRoute> routes;
  std::vector<RaRdnss> rdnss;
  std::vector<RaDnssl> dnssl;
  std::vector<uint8_t> unknown_options;  // option types we do not interpret, in order
  uint32_t ignored_options = 0;          // known types whose body was malformed (RFC: ignore the option)
};

enum class RaParseStatus : uint8_t {
  kOk = 0,
  kTooShort,          // ICMPv6 length < 16 (RFC 4861 §6.1.2)
  kNotAdvert,         // type is not 134
  kBadCode,           // code is not 0
  kZeroLengthOption,  // an option with length 0: the whole message MUST be discarded
  kTruncatedOption,   // an option runs past the end of the message
};

const char* RaParseStatusName(RaParseStatus s);

// Parses an ICMPv6 Router Advertisement (ICMPv6 header first, as a raw IPv6 socket delivers it).
// The checksum is not verified here: the kernel verifies it for IPPROTO_ICMPV6 sockets.
RaParseStatus ParseRouterAdvert(const uint8_t* data, size_t len, RouterAdvert* out);

// Why an RA that parsed is still not to be trusted (RFC 4861 §6.1.2).
enum class RaEnvelopeStatus : uint8_t { kOk = 0, kSourceNotLinkLocal, kHopLimitNot255 };

const char* RaEnvelopeStatusName(RaEnvelopeStatus s);

// hop_limit < 0 means the kernel did not report it (treated as invalid: we cannot verify).
RaEnvelopeStatus CheckRaEnvelope(const Ip6Bytes& source, int hop_limit);

// Writes a Router Solicitation (RFC 4861 §4.1) into `out`. With a link-layer address, the
// source link-layer address option is appended (padded to 8 octets); pass none when the source
// address is :: (the RFC forbids the option then). Checksum left 0: the kernel fills it.
std::vector<uint8_t> BuildRouterSolicitation(const uint8_t* lladdr, size_t lladdr_len);

}  // namespace sonde
