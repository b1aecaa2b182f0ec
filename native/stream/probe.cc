// One probe's socket in the stream engine: non-blocking connect, the optional HTTP request and
// response, and the close. Runs on the engine thread only.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "stream/engine_impl.h"

namespace sonde {

socklen_t FillAddr(sockaddr_storage* ss, uint8_t family, const uint8_t* addr, uint16_t port, uint32_t scope) {
  std::memset(ss, 0, sizeof(*ss));
  if (family == 6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_scope_id = scope;
    std::memcpy(&a->sin6_addr, addr, 16);
    return sizeof(*a);
  }
  auto* a = reinterpret_cast<sockaddr_in*>(ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  std::memcpy(&a->sin_addr, addr, 4);
  return sizeof(*a);
}

namespace {

// Whether the socket's two ends are one address and port (a TCP self-connect).
bool SelfConnected(int fd) {
  sockaddr_storage local, peer;
  socklen_t llen = sizeof(local), plen = sizeof(peer);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) != 0) return false;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return false;
  if (local.ss_family != peer.ss_family) return false;
  if (local.ss_family == AF_INET6) {
    auto* l = reinterpret_cast<sockaddr_in6*>(&local);
    auto* p = reinterpret_cast<sockaddr_in6*>(&peer);
    return l->sin6_port == p->sin6_port && std::memcmp(&l->sin6_addr, &p->sin6_addr, 16) == 0;
  }
  auto* l = reinterpret_cast<sockaddr_in*>(&local);
  auto* p = reinterpret_cast<sockaddr_in*>(&peer);
  return l->sin_port == p->sin_port && l->sin_addr.s_addr == p->sin_addr.s_addr;
}

}  // namespace

void StreamEngine::Impl::Start(const StreamSpec& spec, const uint8_t* request, int64_t deadline) {
  uint32_t idx = free_head;
  if (idx != UINT32_MAX) {
    free_head = slots[idx].next_free;
  } else {  // none freed yet: the next never-used slot (SlotFree checked that there is one)
    idx = static_cast<uint32_t>(slots.size());
    slots.emplace_back();
  }
  Slot& s = slots[idx];
  busy++;
  s.busy = true;
  s.draining = false;
  s.early_input = false;
  s.gen++;
  s.id = spec.id;
  s.flags = spec.flags;
  s.phase = StreamPhase::kConnect;
  s.local_port = spec.src_port;
  s.port = spec.port;
  s.qos = spec.qos;
  qos.Take(s.qos);
  qos_counters.started[s.qos].fetch_add(1, std::memory_order_relaxed);
  qos_counters.held[s.qos].store(qos.held(s.qos), std::memory_order_relaxed);
  s.deadline = deadline;
  s.t_start = MonoNs();
  s.t_connected = s.t_written = s.t_first_byte = 0;
  s.req_off = 0;
  s.request.assign(reinterpret_cast<const char*>(request), spec.request_len);
  if (s.head.size() < spec.header_cap) s.head.resize(spec.header_cap);
  s.parser.Reset((spec.flags & kStreamHead) != 0, spec.body_limit, s.head.data(), spec.header_cap);
  heap.Push(idx);

  s.family = spec.family;
  if (spec.flags & kStreamDatagram) return StartDatagram(s, idx, spec);
  bool reset_close = !(spec.flags & (kStreamHttp | kStreamGraceful));
  s.poolable = reset_close && !spec.has_src && spec.src_port == 0;
  // HTTP too: once the server has closed (the normal end, "Connection: close"), the disconnect's
  // RST only ends the server's FIN_WAIT2 early, so neither side keeps TIME_WAIT for the port.
  s.keeps_port = !(spec.flags & kStreamGraceful) && !spec.has_src && spec.src_port != 0;
  std::vector<int>& pool = spec.family == 6 ? pool6 : pool4;
  PortMap& bound = spec.family == 6 ? bound6 : bound4;
  if (spec.src_port != 0 && !spec.has_src) EndDrainOn(spec.family, spec.src_port);
  bool pooled = s.poolable && !pool.empty();
  // A socket left bound to this port by an earlier probe serves any probe from it (nothing else
  // can bind the port meanwhile without SO_REUSEADDR, and sonde's own binds all come through here).
  bool rebound = spec.src_port != 0 && !spec.has_src && bound.Get(spec.src_port) >= 0;
  if (pooled) {
    s.fd = pool.back();
    pool.pop_back();
  } else if (rebound) {
    s.fd = bound.Get(spec.src_port);
    bound.Clear(spec.src_port);
    n_bound--;
    n_rebound.fetch_add(1, std::memory_order_relaxed);
    pooled = true;  // still in the epoll set: MOD below
  } else {
    s.fd = socket(spec.family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) return Fail(s, errno, MonoNs());
  }
  sockaddr_storage ss;
  if (!rebound && (spec.has_src || spec.src_port != 0)) {
    int one = 1;
    if (spec.src_port == 0) {
      // IP_BIND_ADDRESS_NO_PORT (Linux 4.2): pick the source port at connect time, from the full
      // 4-tuple space, rather than reserving a port per bind (which exhausts ports at high rates).
      setsockopt(s.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    } else {
      // A caller-chosen port lets the eBPF flow map know the 5-tuple before the first SYN leaves;
      // SO_REUSEADDR lets it be reused while an older connection on it lingers in TIME_WAIT.
      setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    static const uint8_t kAny[16] = {};
    socklen_t len = FillAddr(&ss, spec.family, spec.has_src ? spec.src : kAny, spec.src_port, spec.scope_id);
    if (bind(s.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) return Fail(s, errno, MonoNs());
  }
  epoll_event ee{};
  // Edge-triggered, registered once: EPOLLOUT reports the handshake's end, EPOLLIN the response.
  ee.events = EPOLLOUT | EPOLLET | ((spec.flags & kStreamHttp) ? uint32_t{EPOLLIN} : 0u);
  ee.data.u64 = Tag(idx, s.gen);
  // A reused socket is still in the set under its last probe's tag. An event queued for it before
  // this MOD is delivered with the new tag but with readiness computed at delivery (tcp_poll), and
  // connect() clears the error the disconnect left (tcp_connect_init): it cannot pass for ours.
  if (epoll_ctl(ep, pooled ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s.fd, &ee) != 0) return Fail(s, errno, MonoNs());
  socklen_t len = FillAddr(&ss, spec.family, spec.addr, spec.port, spec.scope_id);
  if (connect(s.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    return Fail(s, errno, MonoNs());
  }
  // Even when connect completed at once, EPOLLOUT follows: the registration precedes it.
}

void StreamEngine::Impl::OnEvent(uint32_t idx, uint32_t events) {
  Slot& s = slots[idx];
  if (s.flags & kStreamDatagram) {
    if (s.phase == StreamPhase::kWrite && (events & (EPOLLOUT | EPOLLERR))) return SendDatagram(s, idx);
    if (s.phase == StreamPhase::kProcessing && (events & (EPOLLIN | EPOLLERR))) ReadDatagram(s, idx);
    return;
  }
  switch (s.phase) {
    case StreamPhase::kConnect: {
      if (events & EPOLLIN) s.early_input = true;
      // Writable without an error condition is a completed handshake (connect(2), EINPROGRESS):
      // SO_ERROR is read only when there is an error to name.
      if ((events & (EPOLLERR | EPOLLHUP)) || !(events & EPOLLOUT)) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) return Fail(s, err, MonoNs());
      }
      // Spurious wake-up (no error, not writable yet): the next edge will come.
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      return OnConnected(s, idx);
    }
    case StreamPhase::kWrite:
      return WriteRequest(s, idx, (events & EPOLLIN) != 0);
    default:
      if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ReadResponse(s, idx);
      return;
  }
}

void StreamEngine::Impl::OnConnected(Slot& s, uint32_t idx) {
  s.t_connected = MonoNs();
  sockaddr_storage local;
  socklen_t len = sizeof(local);
  // The kernel's pick, when there was one (flow registration by port reads it).
  if (s.local_port == 0 && getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    // sin_port and sin6_port sit at the same offset.
    s.local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  }
  // A connect to a closed local port from the same port "succeeds" by simultaneous open with itself
  // (RFC 9293 3.5, Linux allows it): no listener answered, so it is the refusal it stands for.
  if (s.local_port == s.port && SelfConnected(s.fd)) return Fail(s, ECONNREFUSED, MonoNs());
  if (!(s.flags & kStreamHttp)) return Succeed(s, s.t_connected);
  s.phase = StreamPhase::kWrite;
  WriteRequest(s, idx, s.early_input);
}

void StreamEngine::Impl::WriteRequest(Slot& s, uint32_t idx, bool readable) {
  if (readable) s.early_input = true;
  while (s.req_off < s.request.size()) {
    // MSG_NOSIGNAL: a peer that already closed must give EPIPE, not kill the process.
    ssize_t n = send(s.fd, s.request.data() + s.req_off, s.request.size() - s.req_off, MSG_NOSIGNAL);
    if (n > 0) {
      s.req_off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;  // the next EPOLLOUT edge continues
    } else {
      return Fail(s, n < 0 ? errno : EPIPE, MonoNs());
    }
  }
  s.t_written = MonoNs();
  s.phase = StreamPhase::kProcessing;
  // The response may have begun before the request was fully out (an early error response).
  if (s.early_input) ReadResponse(s, idx);
}

void StreamEngine::Impl::ReadResponse(Slot& s, uint32_t idx) {
  for (int round = 0; round < kReadsPerEvent; round++) {
    ssize_t n = read(s.fd, rbuf.data(), rbuf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (s.draining) return Close(s, false);
      return Fail(s, errno, MonoNs());
    }
    if (n == 0) {
      if (s.draining) return ServerClosed(s);
      int64_t now = MonoNs();
      if (s.parser.Finish() == HttpParseStatus::kDone) {
        Succeed(s, now);
        return ServerClosed(s);
      }
      return Fail(s, EPROTO, now);
    }
    if (s.draining) continue;  // bytes after a complete response are not ours to judge
    if (s.t_first_byte == 0) {
      s.t_first_byte = MonoNs();
      s.phase = StreamPhase::kTransfer;
    }
    size_t used = 0;
    HttpParseStatus st = s.parser.Feed(rbuf.data(), static_cast<size_t>(n), &used);
    if (st == HttpParseStatus::kError) return Fail(s, EPROTO, MonoNs());
    if (st == HttpParseStatus::kDone) Succeed(s, MonoNs());  // then drain: keep reading for the FIN
  }
  again.push_back(Tag(idx, s.gen));
}

void StreamEngine::Impl::Emit(Slot& s, int err, int64_t now) {
  StreamOutcome o{};
  o.id = s.id;
  o.err = err;
  o.phase = err == 0 ? StreamPhase::kDone : s.phase;
  o.parse_error = static_cast<uint8_t>(s.parser.error());
  o.version_minor = s.parser.version_minor() < 0 ? 255 : static_cast<uint8_t>(s.parser.version_minor());
  o.status = static_cast<uint16_t>(s.parser.status_code());
  o.local_port = s.local_port;
  o.content_length = s.parser.content_length();
  o.body_bytes = s.parser.body_bytes();
  o.t_start = s.t_start;
  o.t_connected = s.t_connected;
  o.t_written = s.t_written;
  o.t_first_byte = s.t_first_byte;
  o.t_done = now;
  bool dgram = (s.flags & kStreamDatagram) != 0;
  if (dgram) o.body_bytes = s.dgram_size;
  o.foreign = dgram ? s.foreign : 0;
  o.head_len = dgram ? s.dgram_len : static_cast<uint32_t>(s.parser.captured());
  n_completed.fetch_add(1, std::memory_order_relaxed);
  if (err == ETIMEDOUT) n_timeouts.fetch_add(1, std::memory_order_relaxed);
  else if (err == ECONNREFUSED) n_refused.fetch_add(1, std::memory_order_relaxed);
  else if (err != 0) n_errors.fetch_add(1, std::memory_order_relaxed);
  Deliver(o, s.head.data());
}

void StreamEngine::Impl::Succeed(Slot& s, int64_t now) {
  Emit(s, 0, now);
  if (!(s.flags & kStreamHttp)) {
    // Connect-only: close with RST (SO_LINGER {1, 0}) unless asked to be graceful. A FIN close
    // would make us the active closer and leave a TIME_WAIT socket per probe on this host
    // (RFC 9293 3.6.1), which at thousands of probes/s exhausts ephemeral ports.
    if (s.poolable) return Recycle(s);
    if (s.keeps_port) return KeepBound(s);
    return Close(s, (s.flags & kStreamGraceful) == 0);
  }
  s.draining = true;
  n_draining.fetch_add(1, std::memory_order_relaxed);
  if (s.keeps_port) {
    (s.family == 6 ? drain6 : drain4).Set(s.local_port, static_cast<int>(&s - slots.data()));
  }
  heap.Remove(static_cast<uint32_t>(&s - slots.data()));
  s.deadline = now + kDrainNs;
  heap.Push(static_cast<uint32_t>(&s - slots.data()));
}

void StreamEngine::Impl::Fail(Slot& s, int err, int64_t now) {
  Emit(s, err, now);
  // The probe is over and nothing more is wanted from the peer: reset, leaving no TIME_WAIT.
  Close(s, true);
}

void StreamEngine::Impl::TimedOut(Slot& s, int64_t now) {
  if (s.draining) return Close(s, true);  // the server kept the connection open despite "close"
  Fail(s, ETIMEDOUT, now);
}

void StreamEngine::Impl::Recycle(Slot& s) {
  std::vector<int>& pool = s.family == 6 ? pool6 : pool4;
  sockaddr un{};
  un.sa_family = AF_UNSPEC;
  // connect(AF_UNSPEC) is tcp_disconnect: RST to the peer, the auto-bound port released, no TIME_WAIT.
  if (pool.size() < capacity && connect(s.fd, &un, sizeof(un)) == 0) {
    pool.push_back(s.fd);
    s.fd = -1;
  }
  Close(s, true);
}

// The server closed first, after a complete response. Without a port of its own the socket closes
// with FIN and the server's side keeps TIME_WAIT; with one, it is kept bound (KeepBound's RST).
void StreamEngine::Impl::ServerClosed(Slot& s) {
  if (s.keeps_port) return KeepBound(s);
  Close(s, false);
}

void StreamEngine::Impl::EndDrainOn(uint8_t family, uint16_t port) {
  PortMap& drain = family == 6 ? drain6 : drain4;
  int idx = drain.Get(port);
  if (idx < 0) return;
  Slot& o = slots[static_cast<size_t>(idx)];
  drain.Clear(port);
  // The server has had its answer read; ending the wait for its FIN early costs it a RST.
  if (o.busy && o.draining && o.local_port == port && o.family == family) KeepBound(o);
}

void StreamEngine::Impl::KeepBound(Slot& s) {
  PortMap& bound = s.family == 6 ? bound6 : bound4;
  sockaddr un{};
  un.sa_family = AF_UNSPEC;
  // As Recycle, but the port stays bound: the next probe from it takes this socket (Start).
  if (n_bound < capacity && bound.Get(s.local_port) < 0 && connect(s.fd, &un, sizeof(un)) == 0 && bound.Set(s.local_port, s.fd)) {
    n_bound++;
    s.fd = -1;
  }
  Close(s, true);
}

void StreamEngine::Impl::Close(Slot& s, bool reset) {
  uint32_t idx = static_cast<uint32_t>(&s - slots.data());
  if (s.fd >= 0) {
    if (s.flags & kStreamDatagram) Disown(s.fd);
    if (reset) {
      linger lg{1, 0};
      setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(s.fd);  // also leaves the epoll set: the descriptor was never duplicated
    s.fd = -1;
  }
  if (s.draining) {
    n_draining.fetch_sub(1, std::memory_order_relaxed);
    PortMap& drain = s.family == 6 ? drain6 : drain4;
    if (s.keeps_port && drain.Get(s.local_port) == static_cast<int>(idx)) drain.Clear(s.local_port);
  }
  s.draining = false;
  heap.Remove(idx);
  s.busy = false;
  s.next_free = free_head;
  free_head = idx;
  busy--;
  qos.Release(s.qos);
  qos_counters.held[s.qos].store(qos.held(s.qos), std::memory_order_relaxed);
}

}  // namespace sonde
