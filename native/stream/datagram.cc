// A datagram exchange in the stream engine (kStreamDatagram): the UDP transport of DNS probes. One
// connected socket per exchange, the request as one datagram, the first matching datagram back as
// the answer. The engine moves bytes and keeps time; what the answer means is TypeScript's
// (src/probers/dns/udp_engine.ts). A connected UDP socket is what miekg/dns dials: the kernel
// takes datagrams from the destination only, and an ICMP port unreachable ends the wait at once
// (ECONNREFUSED), so refused, lost and answered are told apart without looking at the packets.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stream/engine_impl.h"

namespace sonde {

void StreamEngine::Impl::StartDatagram(Slot& s, uint32_t idx, const StreamSpec& spec) {
  s.match_len = static_cast<uint8_t>(std::min<uint32_t>(spec.match_len, spec.request_len));
  s.foreign = 0;
  s.dgram_len = 0;
  s.dgram_size = 0;
  s.dgram_cap = spec.header_cap;
  s.keeps_port = spec.src_port != 0 && !spec.has_src;
  s.poolable = spec.src_port == 0 && !spec.has_src;
  sockaddr_storage ss;
  s.fd = TakeDatagramSocket(spec);
  bool kept = s.fd >= 0;
  if (!kept) s.fd = socket(spec.family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd < 0) return Fail(s, errno, MonoNs());
  if (!kept && static_cast<size_t>(s.fd) < dgram_uses.size()) dgram_uses[s.fd] = 0;
  if (!kept && (spec.has_src || spec.src_port != 0)) {
    // No SO_REUSEADDR: on UDP it would let two sockets share the port, and a caller's port (an
    // eBPF flow by port) must be this exchange's alone. A port in use fails with EADDRINUSE.
    static const uint8_t kAny[16] = {};
    socklen_t len = FillAddr(&ss, spec.family, spec.has_src ? spec.src : kAny, spec.src_port, spec.scope_id);
    if (bind(s.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) return Fail(s, errno, MonoNs());
  }
  size_t fdi = static_cast<size_t>(s.fd);
  if (fdi >= dgram_peer.size()) dgram_peer.resize(fdi + 1024);
  DgramPeer& peer = dgram_peer[fdi];
  if (kept && peer.valid && peer.family == spec.family && peer.port == spec.port && peer.scope == spec.scope_id &&
      std::memcmp(peer.addr, spec.addr, 16) == 0) {
    s.t_connected = MonoNs();
    if (s.local_port == 0) s.local_port = peer.local_port;
  } else {
    peer.valid = false;  // until this connect succeeds
    socklen_t len = FillAddr(&ss, spec.family, spec.addr, spec.port, spec.scope_id);
    if (connect(s.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) return Fail(s, errno, MonoNs());
    s.t_connected = MonoNs();
    if (s.local_port == 0) {
      sockaddr_storage local;
      socklen_t llen = sizeof(local);
      if (getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &llen) == 0) {
        s.local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
      }
    }
    peer.valid = true;
    peer.family = spec.family;
    peer.port = spec.port;
    peer.scope = spec.scope_id;
    peer.local_port = s.local_port;
    std::memcpy(peer.addr, spec.addr, 16);
  }
  peer.owner = Tag(idx, s.gen);
  if (!kept) {
    epoll_event ee{};
    // Edge-triggered: EPOLLOUT only matters if the first send found the buffer full.
    ee.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ee.data.u64 = DgramTag(s.fd);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ee) != 0) return Fail(s, errno, MonoNs());
  }
  s.phase = StreamPhase::kWrite;
  SendDatagram(s, idx, true);
}

void StreamEngine::Impl::SendDatagram(Slot& s, uint32_t idx, bool first) {
  for (;;) {
    ssize_t n = send(s.fd, s.request.data(), s.request.size(), MSG_NOSIGNAL);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      // The next EPOLLOUT edge. A kept socket raised none since it was kept: re-registering it
      // reports its readiness now (ep_modify), one more try, as a new socket's registration gives.
      if (first) {
        epoll_event ee{};
        ee.events = EPOLLIN | EPOLLOUT | EPOLLET;
        ee.data.u64 = DgramTag(s.fd);
        if (epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ee) != 0) return Fail(s, errno, MonoNs());
      }
      return;
    }
    return Fail(s, errno, MonoNs());
  }
  s.t_written = MonoNs();
  s.phase = StreamPhase::kProcessing;
  // An answer that came while the phase was kWrite raised its EPOLLIN edge already (that event
  // was not for this phase): read now. On the first send no epoll_wait ran since the socket was
  // drained (TakeDatagramSocket) or made, so an answer's edge is still to be reported: no read.
  if (!first) ReadDatagram(s, idx);
}

// An event of a datagram socket, for the exchange that owns it now; none owns a kept socket, whose
// late datagrams are read away when it is taken again.
void StreamEngine::Impl::OnDatagramEvent(uint32_t fd, uint32_t events) {
  if (fd >= dgram_peer.size()) return;
  uint64_t owner = dgram_peer[fd].owner;
  if (owner == kNoOwner) return;
  uint32_t idx = static_cast<uint32_t>(owner);
  if (idx < slots.size() && slots[idx].busy && slots[idx].gen == static_cast<uint32_t>(owner >> 32)) OnEvent(idx, events);
}

void StreamEngine::Impl::Disown(int fd) {
  if (fd >= 0 && static_cast<size_t>(fd) < dgram_peer.size()) dgram_peer[static_cast<size_t>(fd)].owner = kNoOwner;
}

void StreamEngine::Impl::ReadDatagram(Slot& s, uint32_t idx) {
  for (int round = 0; round < kReadsPerEvent; round++) {
    // MSG_TRUNC: the datagram's real size, also when it is larger than the buffer.
    ssize_t n = recv(s.fd, rbuf.data(), rbuf.size(), MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return Fail(s, errno, MonoNs());  // ECONNREFUSED: an ICMP port unreachable came back
    }
    int64_t now = MonoNs();
    size_t got = std::min(static_cast<size_t>(n), rbuf.size());
    // Shorter than the prefix: nothing says it is another exchange's; TypeScript judges it (malformed).
    if (s.match_len > 0 && got >= s.match_len && std::memcmp(rbuf.data(), s.request.data(), s.match_len) != 0) {
      s.foreign++;
      continue;
    }
    size_t keep = std::min({got, s.head.size(), static_cast<size_t>(s.dgram_cap)});
    std::memcpy(s.head.data(), rbuf.data(), keep);
    s.dgram_len = static_cast<uint32_t>(keep);
    s.dgram_size = static_cast<uint64_t>(n);
    s.t_first_byte = now;
    Emit(s, 0, now);
    return ParkDatagram(s);
  }
  again.push_back(Tag(idx, s.gen));
}

int StreamEngine::Impl::TakeDatagramSocket(const StreamSpec& spec) {
  int fd = -1;
  if (spec.has_src) return -1;
  if (spec.src_port != 0) {
    PortMap& bound = spec.family == 6 ? dbound6 : dbound4;
    fd = bound.Get(spec.src_port);
    if (fd < 0) return -1;
    bound.Clear(spec.src_port);
    n_dbound--;
  } else {
    std::vector<int>& pool = spec.family == 6 ? dpool6 : dpool4;
    if (pool.empty()) return -1;
    fd = pool.back();
    pool.pop_back();
  }
  // Whatever came after the last answer (a duplicate of it, an ICMP error) is not this exchange's:
  // read it away. A pending error is what a read reports first (and so clears: sock_error() in
  // the kernel's __skb_recv_udp), datagrams queued behind it are read on; EAGAIN: nothing is left.
  for (int round = 0; round < 64; round++) {
    if (recv(fd, rbuf.data(), rbuf.size(), MSG_DONTWAIT | MSG_TRUNC) >= 0 || errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
  }
  return fd;
}

void StreamEngine::Impl::ParkDatagram(Slot& s) {
  int fd = s.fd;
  Disown(fd);
  if (s.keeps_port) {
    PortMap& bound = s.family == 6 ? dbound6 : dbound4;
    if (n_dbound < capacity && bound.Get(s.local_port) < 0 && bound.Set(s.local_port, fd)) {
      n_dbound++;
      s.fd = -1;
    }
  } else if (s.poolable) {
    std::vector<int>& pool = s.family == 6 ? dpool6 : dpool4;
    if (static_cast<size_t>(fd) >= dgram_uses.size()) dgram_uses.resize(static_cast<size_t>(fd) + 1024, 0);
    if (pool.size() < capacity && ++dgram_uses[fd] < kMaxDatagramUses) {
      pool.push_back(fd);
      s.fd = -1;
    } else {
      dgram_uses[fd] = 0;  // closed below: the number may be a new socket's next
    }
  }
  Close(s, false);
}

}  // namespace sonde
