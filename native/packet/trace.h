// Path-probing (trace) packets: TTL-limited ICMP echo, UDP and TCP SYN probes built for
// Paris-traceroute flow stability, and bounds-checked parsing of what comes back (ICMP errors
// with the quoted probe, echo replies, TCP SYN-ACK/RST from the target). Plain C++, no N-API
// and no sockets, so it is unit-tested and fuzzed alone (native/tests/).
//
// Flow stability (Augustin et al., "Avoiding traceroute anomalies with Paris traceroute", IMC
// 2006): ECMP routers hash the 5-tuple, and for ICMP the first 4 bytes after the IP header
// (type, code, checksum) where ports would be. So per flow the ports (UDP/TCP) or the identifier
// AND checksum (ICMP) stay fixed; what tells probes apart lives in fields routers do not hash
// but that survive in the quoted header of an ICMP error (RFC 792: IP header + 8 bytes):
//   ICMP: the sequence number; a compensation word in the payload keeps the checksum constant.
//   UDP:  the IPv4 Identification field (IPv4), the payload stamp (IPv6: RFC 4443 2.4(c) quotes
//         as much of the probe as fits in 1280 bytes).
//   TCP:  the sequence number (key << 16 | generation), which SYN-ACK and RST acknowledge + 1.
#pragma once
#include <cstddef>
#include <cstdint>

#include "packet/ip.h"

namespace sonde {

constexpr size_t kTraceStampLen = 8;

// One probe to build. For IPv4 the result is a whole IP datagram (IP_HDRINCL); for IPv6 the
// transport header and payload (raw IPv6 sockets add the IP header, RFC 3542).
struct TraceProbe {
  int family = 4;
  uint8_t proto = kProtoIcmp;  // kProtoIcmp (also for ICMPv6), kProtoUdp or kProtoTcp
  uint8_t ttl = 64;
  uint16_t flow = 0;   // ICMP identifier, or UDP/TCP source port: fixed per flow
  uint16_t dport = 0;  // UDP/TCP destination port: fixed per flow
  uint16_t key = 0;    // names the probe (nonzero: IPv4 ID 0 would be rewritten by the kernel)
  uint16_t gen = 0;    // the slot's generation, so a late answer to an older probe never matches
  uint32_t cookie = 0;
  const uint8_t* src = nullptr;  // 4 or 16 bytes; IPv4 needs it (header, TCP checksum)
  const uint8_t* dst = nullptr;
  size_t payload_len = 0;  // at least kTraceStampLen for ICMP and UDP; TCP SYNs carry none
};

// Writes the probe; returns its length, or 0 when cap is too small or the probe is invalid.
size_t BuildTraceProbe(uint8_t* buf, size_t cap, const TraceProbe& p);

enum class TraceMsg : uint8_t {
  kNone = 0,
  kEchoReply = 1,
  kTimeExceeded = 2,
  kUnreachable = 3,   // includes IPv4 fragmentation needed and ICMPv6 packet too big
  kTcpSynAck = 4,
  kTcpRst = 5,
};

// What a received packet says about which probe it answers. For ICMP errors the probe fields
// come from the quoted header; for echo replies and TCP segments from the packet itself.
struct TraceParsed {
  TraceMsg msg = TraceMsg::kNone;
  uint8_t type = 0, code = 0;
  bool has_from = false;  // IPv4: the sender from the outer IP header (IPv6: the caller knows it)
  uint8_t from[16] = {};
  uint8_t proto = 0;      // the probe's protocol (kProtoIcmp for ICMP and ICMPv6 probes)
  uint8_t dst[16] = {};   // the probe's destination
  uint16_t flow = 0;      // the probe's ICMP id or source port
  uint16_t dport = 0;
  bool has_key = false;
  uint16_t key = 0;
  bool has_gen = false;
  uint16_t gen = 0;
  bool has_cookie = false;
  uint32_t cookie = 0;
  uint8_t quoted_ttl = 0;  // the TTL left in the quoted IPv4 header (1 at the router that expired it)
  uint32_t info = 0;       // next-hop MTU for packet too big / fragmentation needed
};

// A raw IPv4 socket's read (ICMP or TCP, IP header included). false: not an answer to a trace probe.
bool ParseTrace4(const uint8_t* pkt, size_t len, TraceParsed* out);
// An ICMPv6 message as raw ICMPv6 sockets return it (no IPv6 header).
bool ParseTrace6Icmp(const uint8_t* pkt, size_t len, TraceParsed* out);
// A TCP segment as raw IPv6 TCP sockets return it (no IPv6 header); `src` is who sent it.
bool ParseTrace6Tcp(const uint8_t* pkt, size_t len, const uint8_t* src, TraceParsed* out);

}  // namespace sonde
