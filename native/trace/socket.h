// The trace engine's sockets (plain C++, no N-API): raw receive sockets filtered in the kernel
// down to what can answer a trace probe, the send-only IPv6 UDP socket, and the source address
// lookup that IPv4 probes (written with their IP header) need.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>

namespace sonde {

// A raw receive socket for ICMP (AF_INET/IPPROTO_ICMP, AF_INET6/IPPROTO_ICMPV6) or TCP answers
// (IPPROTO_TCP, either family): non-blocking, SO_TIMESTAMPNS, a 4 MiB receive buffer, the ICMP
// type filter and a classic BPF filter that passes only echo replies carrying `cookie`, ICMP
// errors, and SYN-ACK/RST to a trace flow port. -1 with *error (when given) set on failure.
int OpenTraceReceiver(int domain, int proto, uint32_t cookie, std::string* error);

// The raw IPv6 UDP socket probes go out on; it receives nothing. -1 with errno set on failure.
int OpenTraceUdp6Sender();

// The source address the kernel routes from towards an IPv4 destination, cached (bounded).
class Source4Cache {
 public:
  // false with *err = errno when there is no route.
  bool Lookup(const uint8_t* dst, uint8_t* src, int* err);

 private:
  std::unordered_map<uint32_t, uint32_t> cache_;  // destination -> source, both as stored bytes
};

}  // namespace sonde
