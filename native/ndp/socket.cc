// The socket side of router discovery. Receivers drop RS/RA whose hop limit is not 255
// (RFC 4861 §6.1.1, §6.1.2), so every hop-limit knob is set to 255; ICMP6_FILTER keeps the
// socket quiet except for Router Advertisements; the kernel fills and verifies checksums.
#include "ndp/socket.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace sonde {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxReceived = 1024;  // bounds memory if a link floods us with RAs

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

uint16_t ReadDevId(const std::string& name) {
  std::string path = "/sys/class/net/" + name + "/dev_id";
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return 0;
  char buf[32] = {0};
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = 0;
  return static_cast<uint16_t>(std::strtoul(buf, nullptr, 16));
}

// The link-local address of the interface, if it has one (none with addr_gen_mode=none).
bool FindLinkLocal(unsigned ifindex, sockaddr_in6* out) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET6) continue;
    sockaddr_in6 a;
    std::memcpy(&a, i->ifa_addr, sizeof(a));
    if (IN6_IS_ADDR_LINKLOCAL(&a.sin6_addr) && a.sin6_scope_id == ifindex) {
      *out = a;
      found = true;
    }
  }
  freeifaddrs(list);
  return found;
}

int SetInt(int fd, int level, int opt, int v) { return setsockopt(fd, level, opt, &v, sizeof(v)); }

}  // namespace

bool NdpLookupLink(const std::string& name, NdpLinkInfo* out, std::string* error) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos || name == "." || name == "..") {
    *error = "not an interface name";
    return false;
  }
  Fd fd(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    *error = Errno("socket");
    return false;
  }
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd.get(), SIOCGIFINDEX, &ifr) != 0) {
    *error = Errno("SIOCGIFINDEX");
    return false;
  }
  out->index = static_cast<unsigned>(ifr.ifr_ifindex);
  if (ioctl(fd.get(), SIOCGIFHWADDR, &ifr) != 0) {
    *error = Errno("SIOCGIFHWADDR");
    return false;
  }
  out->hw_type = ifr.ifr_hwaddr.sa_family;
  uint8_t hw[sizeof(ifr.ifr_hwaddr.sa_data)];
  std::memcpy(hw, ifr.ifr_hwaddr.sa_data, sizeof(hw));

  // ETHTOOL_GPERMADDR is answered by the ethtool core for every device and reports addr_len.
  // struct ethtool_perm_addr ends in a flexible array: lay it out by hand (cmd, size, data).
  constexpr uint32_t kPermMax = 32;
  alignas(uint32_t) uint8_t perm[sizeof(ethtool_perm_addr) + kPermMax];
  std::memset(perm, 0, sizeof(perm));
  const uint32_t cmd = ETHTOOL_GPERMADDR;
  std::memcpy(perm + offsetof(ethtool_perm_addr, cmd), &cmd, sizeof(cmd));
  std::memcpy(perm + offsetof(ethtool_perm_addr, size), &kPermMax, sizeof(kPermMax));
  ifreq eifr;
  std::memset(&eifr, 0, sizeof(eifr));
  std::memcpy(eifr.ifr_name, name.data(), name.size());
  eifr.ifr_data = reinterpret_cast<char*>(perm);
  size_t addr_len = out->hw_type == ARPHRD_ETHER ? 6 : 0;
  if (ioctl(fd.get(), SIOCETHTOOL, &eifr) == 0) {
    uint32_t got = 0;
    std::memcpy(&got, perm + offsetof(ethtool_perm_addr, size), sizeof(got));
    if (got <= kPermMax) {
      addr_len = got;
      const uint8_t* data = perm + sizeof(ethtool_perm_addr);
      out->perm_addr.assign(data, data + got);
    }
  }
  if (addr_len > sizeof(hw)) addr_len = sizeof(hw);
  out->hw_addr.assign(hw, hw + addr_len);
  out->dev_id = ReadDevId(name);
  return true;
}

NdpDiscoverResult NdpDiscover(const NdpDiscoverOptions& opts) {
  NdpDiscoverResult res;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::milliseconds(opts.timeout_ms);

  Fd fd(socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
  if (fd.get() < 0) {
    res.error = Errno(errno == EPERM || errno == EACCES ? "raw ICMPv6 socket (needs CAP_NET_RAW)" : "raw ICMPv6 socket");
    return res;
  }
  int ifindex = static_cast<int>(opts.ifindex);
  icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  ICMP6_FILTER_SETPASS(ND_ROUTER_ADVERT, &filter);
  if (setsockopt(fd.get(), SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, sizeof(ifindex)) != 0) {
    res.error = Errno("SO_BINDTOIFINDEX");
    return res;
  }
  if (setsockopt(fd.get(), IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) != 0 ||
      SetInt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex) != 0 ||
      SetInt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255) != 0 ||
      SetInt(fd.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255) != 0 ||
      SetInt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) != 0 ||
      SetInt(fd.get(), IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) != 0) {
    res.error = Errno("setsockopt");
    return res;
  }

  // Send from the link-local address so that the source link-layer address option is allowed
  // (RFC 4861 §4.1). While DAD still runs the address is tentative and bind fails: wait for it.
  sockaddr_in6 ll;
  if (FindLinkLocal(opts.ifindex, &ll)) {
    for (;;) {
      if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ll), sizeof(ll)) == 0) {
        res.has_source = true;
        std::memcpy(res.source.data(), &ll.sin6_addr, 16);
        break;
      }
      if (errno != EADDRNOTAVAIL || Clock::now() + std::chrono::milliseconds(100) >= deadline) {
        res.error = Errno("bind to the link-local address");
        return res;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::vector<uint8_t> rs = res.has_source ? BuildRouterSolicitation(opts.lladdr.data(), opts.lladdr.size())
                                           : BuildRouterSolicitation(nullptr, 0);
  sockaddr_in6 dst;
  std::memset(&dst, 0, sizeof(dst));
  dst.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "ff02::2", &dst.sin6_addr);
  dst.sin6_scope_id = opts.ifindex;

  Clock::time_point next_send = Clock::now();
  std::vector<uint8_t> packet(65536);
  uint8_t* buf = packet.data();
  for (;;) {
    Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    if (res.solicitations < opts.max_solicitations && now >= next_send) {
      if (sendto(fd.get(), rs.data(), rs.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) < 0) {
        res.error = Errno("sendto ff02::2");
        return res;
      }
      res.solicitations++;
      next_send = now + std::chrono::milliseconds(opts.resend_ms);
    }
    Clock::time_point wake = deadline;
    if (res.solicitations < opts.max_solicitations && next_send < wake) wake = next_send;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count() + 1;
    pollfd pfd{fd.get(), POLLIN, 0};
    int pr = poll(&pfd, 1, static_cast<int>(wait));
    if (pr < 0 && errno != EINTR) {
      res.error = Errno("poll");
      return res;
    }
    if (pr <= 0) continue;

    sockaddr_in6 from;
    alignas(cmsghdr) uint8_t control[256];
    iovec iov{buf, packet.size()};
    msghdr msg;
    std::memset(&msg, 0, sizeof(msg));
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd.get(), &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      res.error = Errno("recvmsg");
      return res;
    }
    if (res.received.size() >= kMaxReceived) continue;
    NdpReceived r;
    std::memcpy(r.source.data(), &from.sin6_addr, 16);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        std::memcpy(&r.hop_limit, CMSG_DATA(c), sizeof(int));
      }
    }
    r.at_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    // A truncated datagram (MSG_TRUNC) cannot happen with a 64 KiB buffer on a raw socket.
    r.parse = ParseRouterAdvert(buf, static_cast<size_t>(n), &r.ra);
    r.envelope = CheckRaEnvelope(r.source, r.hop_limit);
    res.received.push_back(std::move(r));
  }
  return res;
}

}  // namespace sonde
