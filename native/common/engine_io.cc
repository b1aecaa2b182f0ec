#include "common/engine_io.h"

#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sonde {

socklen_t FillSockaddr(int family, const uint8_t* addr, uint32_t scope_id, sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof(*ss));
  if (family == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, addr, 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
  sin6->sin6_family = AF_INET6;
  std::memcpy(&sin6->sin6_addr, addr, 16);
  sin6->sin6_scope_id = scope_id;
  return sizeof(sockaddr_in6);
}

bool RouteSource(int family, const uint8_t* dst, uint8_t* src, int* err) {
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return false;
  }
  sockaddr_storage ss;
  socklen_t sl = FillSockaddr(family, dst, 0, &ss);
  reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(9);  // same offset in sockaddr_in6
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&ss), sl) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0;
  if (!ok) *err = errno;
  close(fd);
  if (!ok) return false;
  if (family == 4) std::memcpy(src, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, 4);
  else std::memcpy(src, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, 16);
  return true;
}

bool ReadSocketTimestamp(const cmsghdr* c, int64_t* ns) {
  if (c->cmsg_level != SOL_SOCKET) return false;
  if (c->cmsg_type == SCM_TIMESTAMPNS) {
    timespec ts;
    std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
    *ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    return true;
  }
  if (c->cmsg_type == SCM_TIMESTAMPING) {
    scm_timestamping ts;  // ts[0] software, ts[2] raw hardware
    std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
    *ns = static_cast<int64_t>(ts.ts[0].tv_sec) * 1000000000 + ts.ts[0].tv_nsec;
    return true;
  }
  return false;
}

void SetSocketBuffer(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) != 0) {
    setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
  }
}

bool SetIcmpTypeFilter(int fd, int family, const std::vector<uint8_t>& pass) {
  if (family == 4) {
    // A set bit blocks its type (types above 31 always pass, none of them is an error or reply).
    uint32_t allow = 0;
    for (uint8_t t : pass) {
      if (t < 32) allow |= 1u << t;
    }
    icmp_filter f{};
    f.data = ~allow;
    return setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f)) == 0;
  }
  icmp6_filter f;
  ICMP6_FILTER_SETBLOCKALL(&f);
  for (uint8_t t : pass) ICMP6_FILTER_SETPASS(t, &f);
  return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) == 0;
}

void DrainReceiveQueue(int fd) {
  uint8_t sink[1];
  for (int i = 0; i < (1 << 20) && recv(fd, sink, sizeof(sink), MSG_DONTWAIT | MSG_TRUNC) >= 0; i++) {
  }
}

}  // namespace sonde
