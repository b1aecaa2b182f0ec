#include "syn/route.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace sonde {
namespace {

// One request, its answers (a dump ends with NLMSG_DONE), each message handed to `each`. Bounded:
// at most 64 reads of 64 KiB.
template <typename F>
bool Ask(int fd, void* req, size_t len, F each) {
  if (send(fd, req, len, 0) < 0) return false;
  std::vector<uint8_t> buf(65536);
  for (int reads = 0; reads < 64; reads++) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) return false;
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, static_cast<unsigned>(n)); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return true;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        if (e->error != 0) return false;
        return true;
      }
      if (each(h) && !(h->nlmsg_flags & NLM_F_MULTI)) return true;
    }
  }
  return false;
}

void AddAttr(nlmsghdr* h, size_t cap, uint16_t type, const void* data, size_t len) {
  size_t at = NLMSG_ALIGN(h->nlmsg_len);
  if (at + RTA_SPACE(len) > cap) return;
  auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<uint8_t*>(h) + at);
  a->rta_type = type;
  a->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
  std::memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = static_cast<uint32_t>(at + RTA_SPACE(len));
}

bool Ethernet(int ifindex) {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(static_cast<unsigned>(ifindex), name) == nullptr) return false;
  std::ifstream f(std::string("/sys/class/net/") + name + "/type");
  int type = 0;
  return static_cast<bool>(f >> type) && type == 1;  // ARPHRD_ETHER (veth, real NICs); not lo, tun, wireguard
}

}  // namespace

bool InPrefix(int family, const uint8_t* prefix, int len, const uint8_t* addr) {
  int bytes = len / 8, bits = len % 8;
  if (len > (family == 4 ? 32 : 128)) return false;
  if (std::memcmp(prefix, addr, static_cast<size_t>(bytes)) != 0) return false;
  if (bits == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
  return (prefix[bytes] & mask) == (addr[bytes] & mask);
}

bool LookupNextHop(int family, const uint8_t* dst, NextHop* out, std::string* why) {
  *out = NextHop{};
  size_t alen = family == 4 ? 4 : 16;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    *why = std::string("netlink: ") + std::strerror(errno);
    return false;
  }
  timeval tv{1, 0};  // the kernel answers at once; never wait longer than this
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  struct {
    nlmsghdr h;
    rtmsg r;
    uint8_t attrs[64];
  } req{};
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.h.nlmsg_type = RTM_GETROUTE;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.r.rtm_family = family == 4 ? AF_INET : AF_INET6;
  req.r.rtm_dst_len = static_cast<unsigned char>(alen * 8);
  req.r.rtm_flags = RTM_F_FIB_MATCH;
  AddAttr(&req.h, sizeof(req), RTA_DST, dst, alen);
  uint8_t gw[16] = {};
  bool have_gw = false, ok = false, multipath = false;
  int type = -1;
  Ask(fd, &req, req.h.nlmsg_len, [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWROUTE) return false;
    auto* r = static_cast<rtmsg*>(NLMSG_DATA(h));
    type = r->rtm_type;
    out->prefix_len = r->rtm_dst_len;
    int len = static_cast<int>(RTM_PAYLOAD(h));
    for (rtattr* a = RTM_RTA(r); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4) std::memcpy(&out->ifindex, RTA_DATA(a), 4);
      if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) >= alen) {
        std::memcpy(gw, RTA_DATA(a), alen);
        have_gw = true;
      }
      if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) >= alen) std::memcpy(out->prefix, RTA_DATA(a), alen);
      if (a->rta_type == RTA_MULTIPATH) multipath = true;
    }
    ok = true;
    return true;
  });
  if (!ok || type != RTN_UNICAST || multipath || out->ifindex == 0) {
    close(fd);
    *why = multipath ? "multipath route" : type == RTN_LOCAL ? "a local destination" : "no single unicast route";
    return false;
  }
  if (!Ethernet(out->ifindex)) {
    close(fd);
    *why = "the route's interface is not Ethernet";
    return false;
  }
  const uint8_t* hop = have_gw ? gw : dst;
  struct {
    nlmsghdr h;
    ndmsg n;
  } nreq{};
  nreq.h.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
  nreq.h.nlmsg_type = RTM_GETNEIGH;
  nreq.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nreq.n.ndm_family = family == 4 ? AF_INET : AF_INET6;
  bool found = false;
  Ask(fd, &nreq, nreq.h.nlmsg_len, [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWNEIGH || found) return false;
    auto* n = static_cast<ndmsg*>(NLMSG_DATA(h));
    if (n->ndm_ifindex != out->ifindex || (n->ndm_state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NONE)) != 0) return false;
    int len = static_cast<int>(NLMSG_PAYLOAD(h, sizeof(ndmsg)));
    bool match = false;
    uint8_t mac[6];
    bool have_mac = false;
    for (rtattr* a = reinterpret_cast<rtattr*>(reinterpret_cast<uint8_t*>(n) + NLMSG_ALIGN(sizeof(ndmsg))); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == alen && std::memcmp(RTA_DATA(a), hop, alen) == 0) match = true;
      if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
        std::memcpy(mac, RTA_DATA(a), 6);
        have_mac = true;
      }
    }
    if (match && have_mac) {
      std::memcpy(out->mac, mac, 6);
      found = true;
    }
    return false;
  });
  close(fd);
  if (!found) *why = "the next hop's link-layer address is not resolved yet";
  return found;
}

}  // namespace sonde
