// Opening the engine's ICMP sockets: raw with CAP_NET_RAW, else unprivileged ping sockets, else an
// error that names what is missing. Plain C++, no N-API.
#pragma once
#include <cstdint>
#include <string>

namespace sonde {

struct IcmpSocket {
  int fd = -1;
  int family = 4;
  bool raw = false;  // SOCK_RAW (IPv4 receives include the IP header); else SOCK_DGRAM ping socket
  bool df = false;
  // IPv4 raw only. A plain socket sends with IP_PMTUDISC_PROBE: DF on the wire as the default
  // (IP_PMTUDISC_WANT) puts it on any packet within the path MTU, and, as the packet may not be
  // fragmented, the kernel gives it IP ID 0 (RFC 6864: an atomic datagram) instead of taking one
  // from its shared per-destination counters (ip_idents: a hash, a random step each jiffy, an
  // atomic add on a cache line every core's packets hit). A probe that might need fragmenting
  // goes out on the `fragments` twin instead, which keeps the default and only sends.
  bool fragments = false;
};

// IPv4 packets up to this size never need fragmenting with the default path MTU discovery: the
// kernel learns no path MTU below net.ipv4.route.min_pmtu (552 by default).
constexpr size_t kUnfragmentedV4 = 552;

// mode: 0 auto (raw, then ping), 1 raw only, 2 ping only. Returns fd >= 0, or -1 with *error set.
// The socket is non-blocking, filtered to echo replies and errors, with timestamps enabled.
// `fragments`: the IPv4 raw twin for probes larger than kUnfragmentedV4 (see IcmpSocket).
IcmpSocket OpenIcmpSocket(int family, bool df, int mode, bool tx_timestamps, std::string* error, bool fragments = false);

// Attaches a classic BPF socket filter to a raw socket that passes only the echo replies, and the
// ICMP errors quoting an echo request, whose sequence has `shard` in the bits of `mask`; anything
// else (not an echo) goes to shard 0 only. So every message reaches exactly one of an engine's
// shards. Messages too short to read the sequence from are dropped (they match no probe).
bool AttachShardFilter(int fd, int family, uint32_t mask, uint32_t shard, std::string* error);

}  // namespace sonde
