#include "syn/socket.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/engine_io.h"

namespace sonde {
namespace {

constexpr int kRcvBuf = 64 << 20;  // ~ 0.5 s of replies at a million per second
constexpr int kSndBuf = 16 << 20;

}  // namespace

// Documentation/networking/filter.rst. On a SOCK_DGRAM packet socket the filter sees the packet
// from its network header; skb->protocol and pkt_type come from the ancillary loads.
bool SetSynReceiverPorts(int fd, uint16_t lo, uint16_t hi) {
  const uint16_t kRet = BPF_RET | BPF_K, kJeq = BPF_JMP | BPF_JEQ | BPF_K;
  const uint32_t kAccept = 0xffff;
  // Written with labels (jump targets resolved below), so a change cannot miscount an offset.
  std::vector<sock_filter> f;
  struct Ins {
    uint16_t code;
    int jt, jf;  // absolute targets, -1 = next
    uint32_t k;
  };
  enum { kDrop = 100, kAcceptL = 101, kV6 = 102, kTcp4 = 103, kIcmp4 = 104, kPorts = 105, kTcp6 = 106, kIcmp6 = 107 };
  std::vector<Ins> prog;
  std::vector<std::pair<int, size_t>> labels;
  auto label = [&](int l) { labels.push_back({l, prog.size()}); };
  auto ins = [&](uint16_t code, uint32_t k, int jt = -1, int jf = -1) { prog.push_back({code, jt, jf, k}); };
  ins(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE));
  ins(kJeq, PACKET_OUTGOING, kDrop, -1);
  ins(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL));
  ins(kJeq, ETH_P_IPV6, kV6, -1);
  ins(kJeq, ETH_P_IP, -1, kDrop);
  ins(BPF_LD | BPF_B | BPF_ABS, 9);
  ins(kJeq, 6, kTcp4, -1);
  ins(kJeq, 1, kIcmp4, kDrop);
  label(kTcp4);
  ins(BPF_LD | BPF_H | BPF_ABS, 6);
  ins(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, kDrop, -1);
  ins(BPF_LDX | BPF_B | BPF_MSH, 0);
  ins(BPF_LD | BPF_H | BPF_IND, 2);
  ins(BPF_JMP | BPF_JA, 0, kPorts, kPorts);
  label(kIcmp4);
  ins(BPF_LDX | BPF_B | BPF_MSH, 0);
  ins(BPF_LD | BPF_B | BPF_IND, 0);
  ins(kJeq, 3, kAcceptL, kDrop);
  label(kV6);
  ins(BPF_LD | BPF_B | BPF_ABS, 6);
  ins(kJeq, 6, kTcp6, -1);
  ins(kJeq, 58, kIcmp6, kDrop);
  label(kTcp6);
  ins(BPF_LD | BPF_H | BPF_ABS, 42);
  ins(BPF_JMP | BPF_JA, 0, kPorts, kPorts);
  label(kIcmp6);
  ins(BPF_LD | BPF_B | BPF_ABS, 40);
  ins(kJeq, 1, kAcceptL, kDrop);
  label(kPorts);
  ins(BPF_JMP | BPF_JGE | BPF_K, lo, -1, kDrop);
  ins(BPF_JMP | BPF_JGT | BPF_K, hi, kDrop, kAcceptL);
  label(kAcceptL);
  ins(kRet, kAccept);
  label(kDrop);
  ins(kRet, 0);
  auto where = [&](int l, size_t at) -> uint32_t {
    if (l < 0) return 0;
    for (auto& [name, pos] : labels)
      if (name == l) return static_cast<uint32_t>(pos - at - 1);
    return 0;
  };
  for (size_t i = 0; i < prog.size(); i++) {
    const Ins& in = prog[i];
    sock_filter s{in.code, 0, 0, in.k};
    if (in.code == (BPF_JMP | BPF_JA)) {
      s.k = where(in.jt, i);
    } else if (BPF_CLASS(in.code) == BPF_JMP) {
      s.jt = static_cast<uint8_t>(where(in.jt, i));
      s.jf = static_cast<uint8_t>(where(in.jf, i));
    }
    f.push_back(s);
  }
  sock_fprog fp{static_cast<unsigned short>(f.size()), f.data()};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) == 0;
}

int OpenSynReceiver(uint16_t lo, uint16_t hi, std::string* error) {
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) {
    *error = std::string("the SYN scan needs a packet socket (CAP_NET_RAW): ") + std::strerror(errno);
    return -1;
  }
  // The filter first, then drain what queued before it: only packets it passed remain.
  if (!SetSynReceiverPorts(fd, lo, hi)) {
    *error = std::string("SO_ATTACH_FILTER: ") + std::strerror(errno);
    close(fd);
    return -1;
  }
  DrainReceiveQueue(fd);
  int one = 1;
#ifdef PACKET_IGNORE_OUTGOING
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
#endif
  (void)one;
  SetSocketBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, kRcvBuf);
  TakeReceiverDrops(fd);
  return fd;
}

uint64_t TakeReceiverDrops(int fd) {
  tpacket_stats st{};
  socklen_t sl = sizeof(st);
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) != 0) return 0;
  return st.tp_drops;
}

int OpenRawSender(int family) {
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return -1;
  SetSocketBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, kSndBuf);
  return fd;
}

}  // namespace sonde
