// IP headers of received packets: the one check every parser makes before it trusts an IPv4 header
// (RFC 791), for a datagram a raw socket returns and for the header an ICMP error quotes, and the
// one reading of the IPv6 header an ICMPv6 error quotes (RFC 8200). Plain C++, no N-API and no
// sockets; tested through the ICMP echo and trace parsers (native/tests, native/fuzz).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sonde {

constexpr size_t kIp4HeaderLen = 20, kIp6HeaderLen = 40;
// IP protocol numbers (IANA), as the IPv4 protocol and IPv6 next header fields carry them.
constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmp6 = 58;

// A checked IPv4 header. Pointers point into the buffer given to the check.
struct Ip4Header {
  size_t header_len = 0;  // IHL * 4, options included
  size_t total_len = 0;   // the bytes of the datagram present: header + what follows it
  uint8_t proto = 0;
  uint8_t ttl = 0;
  const uint8_t* src = nullptr;  // 4 bytes
  const uint8_t* dst = nullptr;  // 4 bytes
};

// A datagram as a raw IPv4 socket returns it (len bytes at p): version 4, 20 <= IHL * 4 <= total
// length <= len, and not a later fragment (whose bytes after the header are no transport header).
// total_len is the header's total length: bytes past it are not the datagram's.
bool ReadIp4Header(const uint8_t* p, size_t len, Ip4Header* out);

// The start of the datagram an ICMP error quotes (RFC 792: its IP header and at least 8 bytes;
// RFC 1812 4.3.2.3: routers quote more): version 4, IHL * 4 >= 20 with `min_l4` bytes after it,
// not a later fragment. Routers may quote less than the total length says, never more: total_len
// is that length when it fits in len (and is not shorter than the header plus min_l4), else len.
bool ReadQuotedIp4Header(const uint8_t* p, size_t len, size_t min_l4, Ip4Header* out);

struct Ip6Header {
  size_t total_len = 0;     // the bytes of the packet present: fixed header + what follows it
  uint8_t next_header = 0;
  uint8_t hop_limit = 0;
  const uint8_t* src = nullptr;  // 16 bytes
  const uint8_t* dst = nullptr;  // 16 bytes
};

// The start of the packet an ICMPv6 error quotes (RFC 4443 2.4(c): as much as fits in the minimum
// MTU): version 6 and the fixed header with `min_l4` bytes after it. sonde's probes carry no
// extension headers, so next_header is their transport. total_len is 40 + the payload length when
// that fits in len (and is not shorter than min_l4), else len.
bool ReadQuotedIp6Header(const uint8_t* p, size_t len, size_t min_l4, Ip6Header* out);

}  // namespace sonde
