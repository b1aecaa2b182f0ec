// The /probe front door: the stream engine's threads accept on sonde's listener (one socket, each
// engine's epoll watching it with EPOLLEXCLUSIVE), peek at each request and take the /probe ones:
// the request is consumed and handed to TypeScript with the engine's result batch (an "ask"),
// which probes, renders and answers through StreamEngine::Answer; this file writes the answer.
// Everything else (other paths, methods, a malformed or oversized head) is left unread and the
// connection is handed to Node's HTTP server, which answers it as it always did. Peeking
// (MSG_PEEK) before consuming is what makes the handoff lossless: Node reads the request itself.
// No probe verdict, text or HTTP rule lives here: the same TypeScript serves both front doors.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include "gateway/request_head.h"
#include "stream/engine_impl.h"

namespace sonde {

namespace {

// A request head larger than this is not a /probe Prometheus sends: Node answers it.
constexpr size_t kMaxHead = 8192;

uint64_t ConnTag(uint32_t idx, uint32_t gen) { return (static_cast<uint64_t>(gen) << 32) | kConnBit | idx; }

// Watches the listener. EPOLLEXCLUSIVE: one connection wakes one engine thread, not all of them.
// (An exclusive registration cannot be modified, only removed and added again: see OnAccept.)
int WatchListener(int ep, int fd) {
  epoll_event ee{};
  ee.events = EPOLLIN | EPOLLEXCLUSIVE;
  ee.data.u64 = kListenTag;
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee) == 0 ? 0 : -errno;
}

// The client's address as text (IPv4-mapped IPv6 as IPv4, as Node prints remoteAddress without it).
std::string PeerText(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
  } else if (ss.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) inet_ntop(AF_INET, a.s6_addr + 12, buf, sizeof(buf));
    else inet_ntop(AF_INET6, &a, buf, sizeof(buf));
  }
  return buf;
}

}  // namespace

bool GatewayLimits::Admit(const std::string& peer) {
  std::lock_guard<std::mutex> lock(mu);
  if (open >= max_conns) return false;
  for (auto& p : per_peer) {
    if (p.first != peer) continue;
    if (p.second >= max_per_peer) return false;
    p.second++;
    open++;
    return true;
  }
  if (max_per_peer == 0) return false;
  per_peer.emplace_back(peer, 1);
  open++;
  return true;
}

void GatewayLimits::Release(const std::string& peer) {
  std::lock_guard<std::mutex> lock(mu);
  for (size_t i = 0; i < per_peer.size(); i++) {
    if (per_peer[i].first != peer) continue;
    if (open > 0) open--;
    if (--per_peer[i].second == 0) {
      per_peer[i] = std::move(per_peer.back());
      per_peer.pop_back();
    }
    return;
  }
}

int StreamEngine::Listen(uint8_t family, const uint8_t* addr, uint16_t port, const std::shared_ptr<GatewayLimits>& limits) {
  Impl& m = *impl_;
  if (m.listen_fd.load() >= 0) return -EALREADY;
  m.limits = limits ? limits : std::make_shared<GatewayLimits>();
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  // As Node's listen: a restart finds the port free while old connections sit in TIME_WAIT, and a
  // second process on a port a listener holds gets EADDRINUSE (no SO_REUSEPORT: the kernel would
  // split the connections between the two daemons).
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // "::" takes IPv4 clients too whatever net.ipv6.bindv6only says, as Node's and Go's listeners do.
  int zero = 0;
  if (family == 6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  sockaddr_storage ss{};
  socklen_t len;
  if (family == 6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, addr, 16);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    std::memcpy(&a->sin_addr, addr, 4);
    len = sizeof(*a);
  }
  // Node's default backlog: Prometheus and load tests open connections in bursts.
  int err = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 511) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    err = -errno;
  } else {
    err = WatchListener(m.ep, fd);
  }
  if (err != 0) {
    close(fd);
    return err;
  }
  m.listen_fd.store(fd);
  return family == 6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port) : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

int StreamEngine::ShareListener(const StreamEngine& other) {
  Impl& m = *impl_;
  if (m.listen_fd.load() >= 0) return -EALREADY;
  int theirs = other.impl_->listen_fd.load();
  if (theirs < 0) return -ENOTCONN;
  m.limits = other.impl_->limits;  // one set of bounds for the listener, whichever engine accepts
  // A descriptor of our own for the same socket: each engine closes its own at Stop, and the
  // socket stops listening when the last one is closed.
  int fd = fcntl(theirs, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int err = WatchListener(m.ep, fd);
  if (err != 0) {
    close(fd);
    return err;
  }
  m.listen_fd.store(fd);
  return 0;
}

void StreamEngine::Answer(std::vector<GatewayAnswer>* batch) {
  Impl& m = *impl_;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(m.in_mu);
    if (m.closed) return;
    wake = m.TakeWake() || m.wake_due;
    m.wake_due = false;  // this wake-up serves the deferred submissions too
    if (m.answers_in.empty()) {
      m.answers_in.swap(*batch);  // the common case: no copy of the bodies
    } else {
      m.answers_in.insert(m.answers_in.end(), std::make_move_iterator(batch->begin()), std::make_move_iterator(batch->end()));
    }
  }
  if (wake) {
    uint64_t one = 1;
    ssize_t r = write(m.ev, &one, sizeof(one));
    (void)r;
  }
}

void StreamEngine::Impl::OnAccept() {
  int lfd = listen_fd.load();
  for (;;) {
    sockaddr_storage ss{};
    socklen_t sl = sizeof(ss);
    int fd = accept4(lfd, reinterpret_cast<sockaddr*>(&ss), &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the listener would stay readable and spin this loop. Stop watching
        // it for a while; connections wait in the backlog meanwhile.
        epoll_ctl(ep, EPOLL_CTL_DEL, lfd, nullptr);
        accept_paused_until = MonoNs() + 100000000;
      }
      return;  // EAGAIN, or an error the next accept reports again
    }
    std::string peer = PeerText(ss);
    if (!limits->Admit(peer)) {
      // Over a bound: close at once (RST, nothing read). A refused client retries; a flood of
      // them cannot hold descriptors or slots.
      linger lg{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      close(fd);
      limits->refused.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // as Node's HTTP server
    if (conn_free == UINT32_MAX && conns.size() < kMaxConns) {
      conns.emplace_back();
      conns.back().next_free = UINT32_MAX;
      conn_free = static_cast<uint32_t>(conns.size() - 1);
    }
    if (conn_free == UINT32_MAX) {
      limits->Release(peer);
      local.handoffs.push_back(fd);  // no room here: Node takes it
      n_gw_handoffs.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    uint32_t idx = conn_free;
    GatewayConn& c = conns[idx];
    conn_free = c.next_free;
    c.fd = fd;
    c.gen++;
    c.busy = true;
    c.probing = false;
    c.close_after = false;
    c.peer_closed = false;
    c.more = false;
    c.watch_out = false;
    c.out.clear();
    c.out_off = 0;
    c.idle_since = MonoNs();
    c.head_since = 0;
    c.peer = std::move(peer);
    conns_open++;
    epoll_event ee{};
    // No EPOLLOUT while nothing waits to be sent: every ACK of an answer would be an event.
    ee.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ee.data.u64 = ConnTag(idx, c.gen);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee) != 0) {
      CloseConn(idx);
      continue;
    }
    TryRequest(idx);
  }
}

void StreamEngine::Impl::OnConnEvent(uint32_t idx, uint32_t events) {
  GatewayConn& c = conns[idx];
  // A client that leaves (or half-closes, as Go's server takes it) while its probe runs wants no
  // answer: TypeScript cancels the probe, and the connection is closed now.
  if ((events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) && c.probing) {
    local.gone.push_back((static_cast<uint64_t>(c.gen) << 32) | idx);  // counted by TypeScript, which cancels
    return CloseConn(idx);
  }
  if (events & (EPOLLERR | EPOLLHUP)) return CloseConn(idx);
  if (events & EPOLLRDHUP) c.peer_closed = true;
  if ((events & EPOLLOUT) && c.out_off < c.out.size()) return FlushConn(idx);
  if (!(events & EPOLLIN)) return;
  if (!c.probing && c.out.empty()) return TryRequest(idx);
  c.more = true;  // a request behind the one in hand (edge-triggered: no second notice comes)
}

void StreamEngine::Impl::TryRequest(uint32_t idx) {
  GatewayConn& c = conns[idx];
  if (peek.size() < kMaxHead) peek.resize(kMaxHead);
  ssize_t n = recv(c.fd, peek.data(), kMaxHead, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) CloseConn(idx);
    return;
  }
  if (n == 0) return CloseConn(idx);  // the client closed between requests
  RequestHead h = ParseRequestHead(peek.data(), static_cast<size_t>(n));
  if (h.status == RequestHeadStatus::kIncomplete) {
    if (static_cast<size_t>(n) >= kMaxHead) return Handoff(idx);
    if (c.head_since == 0) c.head_since = MonoNs();  // SweepIdle closes it past head_timeout_ns
    return;  // edge-triggered: the rest of the head wakes us again
  }
  c.head_since = 0;
  if (h.status != RequestHeadStatus::kComplete) return Handoff(idx);
  // Ours: consume exactly this request; a pipelined next one stays queued in the socket.
  ssize_t got = recv(c.fd, peek.data(), h.head_len, MSG_DONTWAIT);
  if (got != static_cast<ssize_t>(h.head_len)) return CloseConn(idx);
  if (c.peer_closed) {
    // Sent and gone (fire and forget): Go's server cancels such a request at once, its background
    // read seeing the EOF. Nobody could read an answer: no probe runs.
    n_gw_gone.fetch_add(1, std::memory_order_relaxed);
    return CloseConn(idx);
  }
  c.more = static_cast<size_t>(n) > h.head_len;
  if (!h.keep_alive) c.close_after = true;
  c.probing = true;
  GatewayAsk a;
  a.token = (static_cast<uint64_t>(c.gen) << 32) | idx;
  a.simple = h.simple;
  if (h.simple) {
    a.module = std::move(h.module);
    a.target = std::move(h.target);
  } else {
    a.query = std::move(h.query);
  }
  a.scrape_timeout = std::move(h.scrape_timeout);
  a.peer = c.peer;
  local.asks.push_back(std::move(a));
  n_gw_asked.fetch_add(1, std::memory_order_relaxed);
}

void StreamEngine::Impl::Respond(uint32_t idx, int status, const std::string& content_type, const std::string& body) {
  GatewayConn& c = conns[idx];
  const char* text = status == 200 ? " OK" : status == 400 ? " Bad Request" : " Internal Server Error";
  c.out.assign("HTTP/1.1 ").append(std::to_string(status)).append(text).append("\r\nContent-Type: ").append(content_type);
  c.out.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  c.out.append(c.close_after ? "\r\nConnection: close\r\n\r\n" : "\r\nConnection: keep-alive\r\n\r\n").append(body);
  c.out_off = 0;
  FlushConn(idx);
}

void StreamEngine::Impl::FlushConn(uint32_t idx) {
  GatewayConn& c = conns[idx];
  while (c.out_off < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) return CloseConn(idx);
      if (!c.watch_out) WatchWritable(idx, true);  // EPOLLOUT resumes
      return;
    }
    c.out_off += static_cast<size_t>(n);
  }
  if (c.watch_out) {
    WatchWritable(idx, false);
    if (!c.busy) return;
  }
  c.out.clear();
  c.out_off = 0;
  c.probing = false;
  c.idle_since = MonoNs();
  if (c.close_after) return CloseConn(idx);
  // A pipelined request already waiting gets no new edge: read it now. Otherwise the next
  // request's arrival wakes us (one recv saved per request).
  if (c.more) {
    c.more = false;
    TryRequest(idx);
  }
}

void StreamEngine::Impl::WatchWritable(uint32_t idx, bool on) {
  GatewayConn& c = conns[idx];
  epoll_event ee{};
  ee.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (on ? uint32_t{EPOLLOUT} : 0u);
  ee.data.u64 = ConnTag(idx, c.gen);
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ee) != 0) return CloseConn(idx);
  c.watch_out = on;
}

void StreamEngine::Impl::Handoff(uint32_t idx) {
  GatewayConn& c = conns[idx];
  epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
  // Node's server holds it from now on, under its own bounds (src/api/server.ts).
  local.handoffs.push_back(c.fd);
  n_gw_handoffs.fetch_add(1, std::memory_order_relaxed);
  c.fd = -1;
  CloseConn(idx);
}

void StreamEngine::Impl::CloseConn(uint32_t idx) {
  GatewayConn& c = conns[idx];
  if (!c.busy) return;
  conns_open--;
  limits->Release(c.peer);
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.busy = false;
  c.probing = false;
  c.out.clear();
  c.gen++;  // a probe still running for this connection finds it gone
  c.next_free = conn_free;
  conn_free = idx;
}

void StreamEngine::Impl::ResumeAccept(int64_t now) {
  if (accept_paused_until == 0 || now < accept_paused_until) return;
  accept_paused_until = 0;
  WatchListener(ep, listen_fd.load());
}

void StreamEngine::Impl::SweepIdle(int64_t now) {
  if (now < next_sweep) return;
  next_sweep = now + 1000000000;  // once a second is plenty for limits of seconds
  for (uint32_t i = 0; i < conns.size(); i++) {
    const GatewayConn& c = conns[i];
    if (!c.busy || c.probing || !c.out.empty()) continue;
    if (c.head_since != 0 && now - c.head_since > limits->head_timeout_ns) {
      // A slow or stuck head (slowloris): Go's ReadHeaderTimeout would end it too.
      n_gw_head_timeouts.fetch_add(1, std::memory_order_relaxed);
      CloseConn(i);
    } else if (now - c.idle_since > kIdleNs) {
      CloseConn(i);
    }
  }
}

void StreamEngine::Impl::TakeAnswers() {
  for (GatewayAnswer& a : answers) {
    uint32_t idx = static_cast<uint32_t>(a.token);
    if (idx >= conns.size()) continue;
    GatewayConn& c = conns[idx];
    if (!c.busy || !c.probing || c.gen != static_cast<uint32_t>(a.token >> 32)) continue;
    Respond(idx, a.status, a.content_type, a.body);
  }
  answers.clear();
}

void StreamEngine::Impl::CloseGateway() {
  int lfd = listen_fd.exchange(-1);
  if (lfd >= 0) close(lfd);
  for (GatewayConn& c : conns) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }
  for (int fd : local.handoffs) close(fd);
  local.handoffs.clear();
}

}  // namespace sonde
