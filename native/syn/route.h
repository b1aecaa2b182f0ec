// Where a run's SYNs leave the host, for the packet-socket send path (plain C++, no N-API): the
// route towards a destination (RTM_GETROUTE with RTM_F_FIB_MATCH, so the FIB entry and its prefix
// come back) and the link-layer address of its next hop from the neighbour table (RTM_GETNEIGH).
// rtnetlink(7). A packet socket skips the IP output path (route lookup, netfilter, qdisc) per
// packet; it can be used only when every target of a run goes through the same next hop on an
// Ethernet-like interface whose neighbour entry is known.
#pragma once
#include <cstdint>
#include <string>

namespace sonde {

struct NextHop {
  int ifindex = 0;
  uint8_t mac[6] = {};
  uint8_t prefix[16] = {};  // the matched route's destination and length: the targets it covers
  int prefix_len = 0;
};

// false with *why when there is no single unicast route with a resolved Ethernet next hop.
bool LookupNextHop(int family, const uint8_t* dst, NextHop* out, std::string* why);

// Whether addr (family's length) lies inside prefix/len.
bool InPrefix(int family, const uint8_t* prefix, int len, const uint8_t* addr);

}  // namespace sonde
