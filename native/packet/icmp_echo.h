// ICMP / ICMPv6 echo packets: the one echo request writer (the echo engine's probes and the trace
// engine's ICMP probes), the echo engine's stamped probes, and bounds-checked parsing of replies and
// of ICMP errors with the original header they quote. Plain C++, no N-API and no sockets, so it is
// unit-tested and fuzzed alone (native/tests/).
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/checksum.h"

namespace sonde {

// The bytes sonde puts at the start of every echo payload (RFC 792 / RFC 4443: the payload of an
// echo request comes back unchanged). cookie is random per engine, slot/gen name the probe.
constexpr size_t kProbeStampLen = 12;
constexpr size_t kIcmpHeaderLen = 8;
constexpr size_t kMaxPayload = 65000;

struct ProbeStamp {
  uint32_t cookie = 0;
  uint32_t slot = 0;
  uint32_t gen = 0;
};

enum class IcmpKind : uint8_t {
  kEchoReply = 1,
  kUnreachable = 2,
  kTimeExceeded = 3,
  kPacketTooBig = 4,  // ICMPv6 type 2, or IPv4 "fragmentation needed" (3/4)
  kParamProblem = 5,
  kEchoRequest = 6,   // our own requests seen on a raw socket (loopback) or someone else's
  kOther = 7,
};

// What a received ICMP message says. Pointers point into the buffer given to the parser.
struct ParsedIcmp {
  IcmpKind kind = IcmpKind::kOther;
  uint8_t type = 0;
  uint8_t code = 0;
  uint8_t family = 0;         // 4 or 6
  bool has_outer_ip = false;  // an IPv4 header preceded the ICMP message (raw IPv4 sockets)
  uint8_t outer_ttl = 0;      // valid when has_outer_ip
  uint8_t outer_src[16] = {};  // valid when has_outer_ip (IPv4 in the first 4 bytes)
  // Echo reply / request: its identifier, sequence and payload.
  uint16_t id = 0;
  uint16_t seq = 0;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
  // Errors: the quoted original echo request (RFC 792: IP header + first 8 bytes at least;
  // RFC 1812 4.3.2.3 and RFC 4443 2.4(c): as much as fits), and the MTU or pointer field.
  bool has_original = false;
  uint8_t orig_dst[16] = {};
  uint16_t orig_id = 0;
  uint16_t orig_seq = 0;
  const uint8_t* orig_payload = nullptr;
  size_t orig_payload_len = 0;
  uint32_t info = 0;  // next-hop MTU (packet too big / frag needed) or pointer (parameter problem)
};

// Writes the header of an echo request (RFC 792 type 8, RFC 4443 4.1 type 128; code 0, id, seq) at
// `icmp`, in front of the payload_len bytes the caller already put at icmp + 8, and its checksum:
// ICMPv4's over the message; ICMPv6's also over the pseudo-header (RFC 4443 2.3) when src and dst
// (16 bytes each) are given, else 0 for the kernel to fill in (RFC 3542 3.1: raw ICMPv6 sockets
// always checksum; so do ping sockets). Returns the message length, 8 + payload_len.
size_t WriteEchoRequest(uint8_t* icmp, int family, uint16_t id, uint16_t seq, size_t payload_len,
                        const uint8_t* src6 = nullptr, const uint8_t* dst6 = nullptr);

// The echo engine's probe: an echo request (WriteEchoRequest) with the stamp and a filler up to
// payload_len payload bytes (at least kProbeStampLen), ICMPv6 checksummed by the kernel.
// Returns the packet length, or 0 when cap is too small, payload_len too large or family not 4/6.
size_t BuildEchoRequest(uint8_t* buf, size_t cap, int family, uint16_t id, uint16_t seq,
                        const ProbeStamp& stamp, size_t payload_len);

// Rewrites id, seq and the stamp in a packet made by BuildEchoRequest (same length and filler),
// updating the IPv4 checksum incrementally: the hot path builds the constant bytes once.
void PatchEchoRequest(uint8_t* pkt, size_t len, int family, uint16_t id, uint16_t seq, const ProbeStamp& stamp);

// Parses what a raw IPv4 ICMP socket returns (IP header + ICMP) when with_ip_header, or what a
// datagram ping socket returns (ICMP only). Verifies the ICMP checksum. false: not a usable ICMP message.
bool ParseIcmp4(const uint8_t* pkt, size_t len, bool with_ip_header, ParsedIcmp* out);

// Parses an ICMPv6 message as raw and ping sockets return it (no IPv6 header, RFC 3542 3).
// The kernel verified the checksum already.
bool ParseIcmp6(const uint8_t* pkt, size_t len, ParsedIcmp* out);

// Reads an echo request or reply header quoted back to a ping socket's error queue (the kernel
// hands over the ICMP part only, possibly truncated, so there is no checksum to verify).
bool ParseQuotedEcho(const uint8_t* icmp, size_t len, int family, ParsedIcmp* out);

// Reads the stamp from the start of an echo payload. false when the payload is too short.
bool ReadStamp(const uint8_t* payload, size_t len, ProbeStamp* out);

}  // namespace sonde
