// Socket and clock pieces the probe engines share (icmp/ and trace/; their thread, wake-up and
// queues are common/engine_loop.h). Plain C++, no N-API.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

namespace sonde {

inline int64_t Now(clockid_t c) {
  timespec ts;
  clock_gettime(c, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Zeroes *ss and writes an IPv4 (family 4, addr in the first 4 bytes) or IPv6 destination with
// port 0, as raw and ping sockets take it. Returns the length to pass with it.
socklen_t FillSockaddr(int family, const uint8_t* addr, uint32_t scope_id, sockaddr_storage* ss);

// The source address the kernel routes from towards dst (family 4 or 6; ip(7): connect on a UDP
// socket does the route lookup without sending anything). false with *err = errno without a route.
bool RouteSource(int family, const uint8_t* dst, uint8_t* src, int* err);

// When c is a receive timestamp (SCM_TIMESTAMPNS, or the software stamp of SCM_TIMESTAMPING:
// Documentation/networking/timestamping.rst), sets *ns (CLOCK_REALTIME) and returns true.
bool ReadSocketTimestamp(const cmsghdr* c, int64_t* ns);

// SO_*BUFFORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; else take what is allowed.
void SetSocketBuffer(int fd, int force_opt, int opt, int bytes);

// The kernel's per-type filter of a raw ICMP (ICMP_FILTER, raw(7)) or ICMPv6 (ICMP6_FILTER,
// RFC 3542 3.2) socket: only the listed types are queued; an empty list blocks all. false with
// errno set when setsockopt fails.
bool SetIcmpTypeFilter(int fd, int family, const std::vector<uint8_t>& pass);

// Discards what a socket queued so far (e.g. before its filters were set). Bounded by what the
// receive buffer can hold.
void DrainReceiveQueue(int fd);

}  // namespace sonde
