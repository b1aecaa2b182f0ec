// Opening the engine's ICMP sockets: raw with CAP_NET_RAW, else unprivileged ping sockets, else an
// error that names what is missing. Plain C++, no N-API.
#pragma once
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

}  // namespace sonde
