#include "trace/socket.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <linux/icmp.h>
#include <vector>

#include "common/engine_io.h"
#include "trace/engine.h"

namespace sonde {
namespace {

// A socket that only sends must not queue copies of every packet of its protocol (raw(7)): a
// classic BPF filter returning 0 drops them all before they are queued.
void DropAllInput(int fd) {
  sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, 0}};
  sock_fprog prog{1, code};
  setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

// Raw sockets see every packet of their protocol on the host: at probe-engine rates (sonde's own
// echo engine, a benchmark) that would overflow our receive buffer and lose our answers. Classic
// BPF filters (Documentation/networking/filter.rst) queue only what can be ours: ICMP errors, echo
// replies carrying our cookie, and TCP SYN-ACK/RST to a port in the trace flow range.
// v4: the filter sees the IP header first (X = its length); v6: the transport header.
void AttachFilter(int fd, bool v4, bool tcp, uint32_t cookie) {
  const uint16_t kLdxMsh = BPF_LDX | BPF_B | BPF_MSH, kRet = BPF_RET | BPF_K;
  const uint16_t kLdB = BPF_LD | BPF_B | (v4 ? BPF_IND : BPF_ABS), kLdH = BPF_LD | BPF_H | (v4 ? BPF_IND : BPF_ABS),
                 kLdW = BPF_LD | BPF_W | (v4 ? BPF_IND : BPF_ABS);
  std::vector<sock_filter> f;
  if (v4) f.push_back({kLdxMsh, 0, 0, 0});
  if (!tcp) {
    f.push_back({kLdB, 0, 0, 0});                                                // ICMP type
    f.push_back({BPF_JMP | BPF_JEQ | BPF_K, 0, 2, v4 ? 0u : 129u});             // echo reply?
    f.push_back({kLdW, 0, 0, 12});                                               // its cookie
    f.push_back({BPF_JMP | BPF_JEQ | BPF_K, 0, 1, cookie});
    f.push_back({kRet, 0, 0, 0xffff});
    f.push_back({kRet, 0, 0, 0});
  } else {
    f.push_back({kLdB, 0, 0, 13});                                               // TCP flags
    f.push_back({BPF_JMP | BPF_JSET | BPF_K, 2, 0, 0x04});                      // RST
    f.push_back({BPF_ALU | BPF_AND | BPF_K, 0, 0, 0x12});
    f.push_back({BPF_JMP | BPF_JEQ | BPF_K, 0, 4, 0x12});                       // SYN+ACK
    f.push_back({kLdH, 0, 0, 2});                                                // destination port
    f.push_back({BPF_JMP | BPF_JGE | BPF_K, 0, 2, kTraceFlowMin});
    f.push_back({BPF_JMP | BPF_JGT | BPF_K, 1, 0, kTraceFlowMax});
    f.push_back({kRet, 0, 0, 0xffff});
    f.push_back({kRet, 0, 0, 0});
  }
  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

}  // namespace

int OpenTraceReceiver(int domain, int proto, uint32_t cookie, std::string* error) {
  int fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) {
    if (error) *error = std::string("trace needs raw sockets (CAP_NET_RAW): ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
  SetSocketBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, 4 << 20);
  bool v4 = domain == AF_INET, tcp = proto == IPPROTO_TCP;
  if (!tcp && v4) SetIcmpTypeFilter(fd, 4, {ICMP_ECHOREPLY, ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED});
  if (!tcp && !v4) SetIcmpTypeFilter(fd, 6, {ICMP6_ECHO_REPLY, ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED});
  AttachFilter(fd, v4, tcp, cookie);
  if (tcp && !v4) {
    int off = 16;  // the kernel checksums what we send (RFC 3542 3.1, IPV6_CHECKSUM)
    setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off));
  }
  return fd;
}

int OpenTraceUdp6Sender() {
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return -1;
  int off = 6;  // the UDP checksum field: the kernel fills it when we leave it 0 (RFC 3542 3.1)
  setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off));
  DropAllInput(fd);
  return fd;
}

// The source address of the IPv4 header we write and of TCP's pseudo-header (common/engine_io.h).
bool Source4Cache::Lookup(const uint8_t* dst, uint8_t* src, int* err) {
  uint32_t d;
  std::memcpy(&d, dst, 4);
  auto it = cache_.find(d);
  if (it != cache_.end()) {
    std::memcpy(src, &it->second, 4);
    return true;
  }
  if (!RouteSource(4, dst, src, err)) return false;
  if (cache_.size() >= 4096) cache_.clear();  // bounded: routes may change, a refresh costs one lookup
  uint32_t s;
  std::memcpy(&s, src, 4);
  cache_.emplace(d, s);
  return true;
}

}  // namespace sonde
