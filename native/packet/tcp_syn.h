// The SYN scan's packets (RFC 9293, RFC 791, RFC 8200): the SYN probe with its IP header (the
// engine writes whole datagrams on IPPROTO_RAW sockets, so the source address and port are ours),
// the RST that follows a SYN-ACK so the target keeps no half-open connection, and the parse of
// what can answer a SYN: SYN-ACK, RST, and ICMP / ICMPv6 destination unreachable quoting it.
// Validation against the cookie is the engine's (syn/engine.cc); the parser only says what the
// packet claims. Plain C++, no N-API, bounds-checked; native/tests/tcp_syn_test.cc and
// native/fuzz/tcp_syn.cc.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sonde {

// IPv4 20 + TCP 20 + MSS option 4. The largest SYN we build.
constexpr size_t kSynMaxLen = 40 + 24;
constexpr uint16_t kSynMss = 1460;

struct SynPacket {
  uint8_t family = 4;
  const uint8_t* src = nullptr;  // 4 or 16 bytes
  const uint8_t* dst = nullptr;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0;    // the cookie
  uint32_t ack = 0;    // 0 for a SYN; the RST after a SYN-ACK acknowledges nothing (0 too)
  uint16_t ip_id = 0;  // IPv4 only
  uint8_t ttl = 64;
};

// Writes the IP header and a TCP SYN (window 1024, MSS option) into buf; returns its length, or 0
// when cap is too small or the family is not 4/6. Checksums filled (the IPv4 one too: raw(7)
// fills it anyway, a test reads it).
size_t BuildTcpSyn(uint8_t* buf, size_t cap, const SynPacket& p);

// The RST (no ACK) with p.seq as its sequence number: sent after a SYN-ACK with seq = our SYN's
// seq + 1, which the target's SYN-RECV socket accepts (RFC 9293 3.10.7.4) and drops.
size_t BuildTcpRst(uint8_t* buf, size_t cap, const SynPacket& p);

enum class SynReplyKind : uint8_t { kNone = 0, kSynAck = 1, kRst = 2, kUnreachable = 3 };

// What a received packet says about a SYN of ours. Addresses are copied (16 bytes, IPv4 in the
// first 4), so the reply outlives the receive buffer.
struct SynReply {
  SynReplyKind kind = SynReplyKind::kNone;
  uint8_t family = 0;
  uint8_t target[16] = {};  // the address our SYN went to (the TCP reply's source; the ICMP quote's destination)
  uint8_t local[16] = {};   // the address our SYN came from
  uint8_t from[16] = {};    // who sent this packet (a router for ICMP)
  uint16_t sport = 0;       // our SYN's source port (the reply's destination port)
  uint16_t dport = 0;       // our SYN's destination port (the port scanned)
  // The value that equals our SYN's sequence number when the reply answers it: a SYN-ACK's ack - 1,
  // a RST's ack - 1 (with ACK) or its seq (without: RFC 9293 3.10.7.1 takes it from our ack, which
  // a SYN leaves 0, so without ACK it only validates for stacks that echo our seq), the quoted seq.
  uint32_t cookie = 0;
  bool rst_has_ack = false;
  uint32_t their_seq = 0;  // the SYN-ACK's own sequence number
  uint8_t ttl = 0;         // TTL / hop limit of the received packet
  uint8_t icmp_type = 0, icmp_code = 0;
};

// An IPv4 datagram (a raw socket's or a packet socket's read, starting at the IP header): TCP
// SYN-ACK or RST (checksum not verified: see tcp_syn.cc), or ICMP type 3 quoting a TCP segment (at least its 8 first
// bytes, RFC 792). false for anything else.
bool ParseSynReply4(const uint8_t* p, size_t len, SynReply* out);

// An IPv6 packet from its fixed header: TCP directly after it (sonde's SYNs carry no extension
// headers, and neither do the answers to them here), or ICMPv6 type 1 quoting a TCP segment.
bool ParseSynReply6(const uint8_t* p, size_t len, SynReply* out);

// The engine's name for an ICMP unreachable code (nmap's reasons), and whether it makes a port
// filtered: IPv4 type 3 codes 0, 1, 2, 3, 9, 10, 13; IPv6 type 1 codes 0..6 (RFC 4443 3.1).
bool UnreachableFilters(uint8_t family, uint8_t code);

}  // namespace sonde
