#include "icmp/socket.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/icmp.h>
#include <linux/net_tstamp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "common/engine_io.h"

namespace sonde {
namespace {

std::string ReadPingGroupRange() {
  char buf[64] = {};
  int fd = open("/proc/sys/net/ipv4/ping_group_range", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "unreadable";
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return "unreadable";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\t') c = ' ';
  }
  return s;
}

bool Configure(IcmpSocket& s, bool tx_timestamps, std::string* error) {
  int one = 1;
  auto fail = [&](const char* what) {
    *error = std::string("setsockopt ") + what + ": " + std::strerror(errno);
    return false;
  };
  // A raw socket receives every ICMP message of its namespace (raw(7)), so the DF (or fragmenting)
  // twin of a plain socket would see each reply a second time, as a duplicate: it only sends (its
  // error queue, with the TX timestamps, is not filtered), and the plain socket of its family
  // receives for both.
  bool send_only = s.raw && (s.df || s.fragments);
  if (s.raw) {
    // Only replies and errors wake us; other ICMP (e.g. echo requests to this host) stays out.
    std::vector<uint8_t> pass;
    if (!send_only && s.family == 4) pass = {ICMP_ECHOREPLY, ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB};
    if (!send_only && s.family == 6) {
      pass = {ICMP6_ECHO_REPLY, ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED, ICMP6_PARAM_PROB};
    }
    if (!SetIcmpTypeFilter(s.fd, s.family, pass)) return fail(s.family == 4 ? "ICMP_FILTER" : "ICMP6_FILTER");
  }
  if (send_only) DrainReceiveQueue(s.fd);
  if (s.family == 6) {
    if (setsockopt(s.fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) != 0) return fail("IPV6_RECVHOPLIMIT");
  } else if (!s.raw) {
    // Raw IPv4 receives carry the IP header (with the TTL); ping sockets need the cmsg.
    if (setsockopt(s.fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) != 0) return fail("IP_RECVTTL");
  }
  if (!s.raw) {
    // Ping sockets see ICMP errors only through the error queue (ip(7) IP_RECVERR).
    int lvl = s.family == 4 ? IPPROTO_IP : IPPROTO_IPV6;
    int opt = s.family == 4 ? IP_RECVERR : IPV6_RECVERR;
    if (setsockopt(s.fd, lvl, opt, &one, sizeof(one)) != 0) return fail("IP_RECVERR");
  }
  if (s.raw && s.family == 4 && !s.df && !s.fragments) {
    int v = IP_PMTUDISC_PROBE;  // see IcmpSocket::fragments
    if (setsockopt(s.fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v)) != 0) return fail("IP_MTU_DISCOVER");
  }
  if (s.df) {
    int v = s.family == 4 ? IP_PMTUDISC_DO : IPV6_PMTUDISC_DO;
    int lvl = s.family == 4 ? IPPROTO_IP : IPPROTO_IPV6;
    int opt = s.family == 4 ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER;
    if (setsockopt(s.fd, lvl, opt, &v, sizeof(v)) != 0) return fail("IP_MTU_DISCOVER");
    if (s.family == 6 && setsockopt(s.fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one)) != 0) return fail("IPV6_DONTFRAG");
  }
  // Kernel timestamps (Documentation/networking/timestamping.rst): software RX stamps taken when
  // the packet enters the stack, software TX stamps when the driver takes it; OPT_ID numbers each
  // send so a TX stamp names its packet, OPT_TSONLY keeps the packet itself off the error queue.
  unsigned flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
  if (tx_timestamps) flags |= SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
  if (setsockopt(s.fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) != 0) return fail("SO_TIMESTAMPING");
  SetSocketBuffer(s.fd, SO_RCVBUFFORCE, SO_RCVBUF, 8 << 20);
  SetSocketBuffer(s.fd, SO_SNDBUFFORCE, SO_SNDBUF, 4 << 20);
  return true;
}

}  // namespace

bool AttachShardFilter(int fd, int family, uint32_t mask, uint32_t shard, std::string* error) {
  const uint32_t others = shard == 0 ? 0xffffffffu : 0;  // non-echo messages: shard 0 takes them
  std::vector<sock_filter> prog;
  if (family == 4) {
    // A raw IPv4 socket's filter sees the IP header first (raw_rcv pushes it back before
    // sock_queue_rcv_skb): X = its length, then the ICMP message at X (RFC 792).
    prog = {
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),                  // type
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 4, 0),           // echo reply -> seq at X+6
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 3, 5, 0),           // errors -> quoted packet
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 11, 4, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 12, 3, 0),
        BPF_STMT(BPF_RET | BPF_K, others),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 6),
        BPF_JUMP(BPF_JMP | BPF_JA, 9, 0, 0),                              // -> compare
        // Error: 8 bytes of ICMP header, then the quoted IP header (its own length), then our echo.
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 8),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x0f),
        BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),
        BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),                        // X = outer + quoted IP header length
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 8),                  // quoted ICMP type
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 8, 1, 0),           // echo request
        BPF_STMT(BPF_RET | BPF_K, others),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 14),                 // quoted sequence
    };
  } else {
    // Raw ICMPv6 sockets see the ICMPv6 message without the IPv6 header (RFC 3542 3); an error
    // quotes the 40-byte IPv6 header of our request, which carries no extension headers.
    prog = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),                  // type
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 129, 4, 0),         // echo reply -> seq at 6
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 4, 5, 0),           // not an error (1..4)
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 4, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 48),                 // quoted ICMPv6 type
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 128, 3, 2),         // echo request -> seq at 54
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
        BPF_JUMP(BPF_JMP | BPF_JA, 2, 0, 0),
        BPF_STMT(BPF_RET | BPF_K, others),
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 54),
    };
  }
  prog.push_back(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask));
  prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, shard, 0, 1));
  prog.push_back(BPF_STMT(BPF_RET | BPF_K, 0xffffffffu));
  prog.push_back(BPF_STMT(BPF_RET | BPF_K, 0));
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) != 0) {
    *error = std::string("setsockopt SO_ATTACH_FILTER: ") + std::strerror(errno);
    return false;
  }
  // The socket received everything from socket() until now (siblings' replies included), and its
  // shard has not sent on it yet: drop that backlog.
  DrainReceiveQueue(fd);
  return true;
}

IcmpSocket OpenIcmpSocket(int family, bool df, int mode, bool tx_timestamps, std::string* error, bool fragments) {
  IcmpSocket s;
  s.family = family;
  s.df = df;
  s.fragments = fragments && family == 4 && !df;
  int domain = family == 4 ? AF_INET : AF_INET6;
  int proto = family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
  int raw_errno = 0;
  if (mode != 2) {
    s.fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    s.raw = s.fd >= 0;
    if (s.fd < 0) raw_errno = errno;
  }
  int ping_errno = 0;
  if (s.fd < 0 && mode != 1) {
    s.fd = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (s.fd < 0) ping_errno = errno;
  }
  if (s.fd < 0) {
    char msg[512];
    if (raw_errno == EAFNOSUPPORT || ping_errno == EAFNOSUPPORT) {
      std::snprintf(msg, sizeof(msg), "IPv%d is not supported by this kernel (EAFNOSUPPORT)", family);
    } else if (mode == 1) {
      std::snprintf(msg, sizeof(msg), "raw ICMP sockets need CAP_NET_RAW (socket: %s)", std::strerror(raw_errno));
    } else {
      std::snprintf(msg, sizeof(msg),
                    "cannot open an ICMP socket: %s%s%sunprivileged ping sockets are refused (%s) for group id %u "
                    "because net.ipv4.ping_group_range is \"%s\"; grant CAP_NET_RAW (setcap cap_net_raw+ep, or "
                    "AmbientCapabilities=CAP_NET_RAW in the unit) or allow the group: "
                    "sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"",
                    mode == 2 ? "" : "raw sockets need CAP_NET_RAW (", mode == 2 ? "" : std::strerror(raw_errno),
                    mode == 2 ? "" : "), and ", std::strerror(ping_errno), static_cast<unsigned>(getgid()),
                    ReadPingGroupRange().c_str());
    }
    *error = msg;
    return s;
  }
  if (!Configure(s, tx_timestamps, error)) {
    close(s.fd);
    s.fd = -1;
  }
  return s;
}

}  // namespace sonde
