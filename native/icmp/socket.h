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
};

// mode: 0 auto (raw, then ping), 1 raw only, 2 ping only. Returns fd >= 0, or -1 with *error set.
// The socket is non-blocking, filtered to echo replies and errors, with timestamps enabled.
IcmpSocket OpenIcmpSocket(int family, bool df, int mode, bool tx_timestamps, std::string* error);

// Attaches a classic BPF socket filter to a raw socket that passes only the echo replies, and the
// ICMP errors quoting an echo request, whose sequence has `shard` in the bits of `mask`; anything
// else (not an echo) goes to shard 0 only. So every message reaches exactly one of an engine's
// shards. Messages too short to read the sequence from are dropped (they match no probe).
bool AttachShardFilter(int fd, int family, uint32_t mask, uint32_t shard, std::string* error);

}  // namespace sonde
