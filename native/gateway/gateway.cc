// The /probe gateway: the stream engine's thread accepts on sonde's listener, peeks at each
// request and answers /probe for the modules src/api/gateway.ts hands it (plain tcp connects and
// plain HTTP to an address literal), without a JS turn per probe. Everything else (other paths,
// other parameters, names to resolve, a malformed request) is left unread and the connection is
// handed to Node's HTTP server, which answers it as it always did. Peeking (MSG_PEEK) before
// consuming is what makes the handoff lossless: Node reads the request from the socket itself.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "gateway/request_head.h"
#include "stream/engine_impl.h"

namespace sonde {

namespace {

// blackbox_exporter's getTimeout (main.go); src/api/probe_params.ts probeTimeout.
constexpr double kTimeoutOffset = 0.5;
constexpr double kDefaultScrapeTimeout = 120;
// A request head larger than this is not a /probe Prometheus sends: Node answers it.
constexpr size_t kMaxHead = 8192;
// The Prometheus text format, as src/outputs/blackbox/registry.ts names it.
const std::string kProbeContentType = "text/plain; version=0.0.4; charset=utf-8";

bool ProbeTimeout(const GatewayModule& m, const RequestHead& h, double* out) {
  double scrape = kDefaultScrapeTimeout;
  if (h.has_timeout && !h.scrape_timeout.empty()) {
    char* end = nullptr;
    scrape = std::strtod(h.scrape_timeout.c_str(), &end);
    // Number() in JS and strtod differ on hex, "Infinity" and spaces: anything unusual is Node's.
    if (*end != '\0' || !std::isfinite(scrape) || scrape <= 0 || h.scrape_timeout.find_first_of("xXnN ") != std::string::npos) {
      return false;
    }
  }
  double budget = scrape - kTimeoutOffset > 0.001 ? scrape - kTimeoutOffset : 0.001;
  *out = m.timeout_s > 0 && m.timeout_s < budget ? m.timeout_s : budget;
  return true;
}

uint64_t ConnTag(uint32_t idx, uint32_t gen) { return (static_cast<uint64_t>(gen) << 32) | kConnBit | idx; }

// A gateway probe's id: the connection and 12 bits of its generation.
uint32_t ProbeId(uint32_t idx, uint32_t gen) { return ((gen & 0xfffu) << 20) | idx; }

}  // namespace

int StreamEngine::Listen(uint8_t family, const uint8_t* addr, uint16_t port, bool reuse_port) {
  Impl& m = *impl_;
  if (m.listen_fd.load() >= 0) return -EALREADY;
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
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
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 511) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  uint16_t bound = family == 6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                               : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  epoll_event ee{};
  ee.events = EPOLLIN;
  ee.data.u64 = kListenTag;
  if (epoll_ctl(m.ep, EPOLL_CTL_ADD, fd, &ee) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  m.listen_fd.store(fd);
  return bound;
}

void StreamEngine::SetGatewayTables(std::shared_ptr<const GatewayTables> tables) {
  std::lock_guard<std::mutex> lock(impl_->tables_mu);
  impl_->tables = std::move(tables);
}

void StreamEngine::Answer(uint64_t token, int status, const std::string& content_type, const std::string& body) {
  Impl& m = *impl_;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(m.in_mu);
    if (m.closed) return;
    wake = m.in.empty() && m.answers_in.empty();
    m.answers_in.push_back({token, status, content_type, body});
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
    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the listener would stay readable and spin this loop. Stop watching
        // it for a while; connections wait in the backlog meanwhile.
        epoll_event ee{};
        ee.data.u64 = kListenTag;
        epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &ee);
        accept_paused_until = MonoNs() + 100000000;
      }
      return;  // EAGAIN, or an error the next accept reports again
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // as Node's HTTP server
    if (conn_free == UINT32_MAX && conns.size() < kMaxConns) {
      conns.emplace_back();
      conns.back().next_free = UINT32_MAX;
      conn_free = static_cast<uint32_t>(conns.size() - 1);
    }
    if (conn_free == UINT32_MAX) {
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
    c.more = false;
    c.watch_out = false;
    c.out.clear();
    c.out_off = 0;
    c.idle_since = MonoNs();
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
  if (events & (EPOLLERR | EPOLLHUP)) return CloseConn(idx);
  if (events & EPOLLRDHUP) c.close_after = true;  // answer what was asked, then close
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
    if (static_cast<size_t>(n) >= kMaxHead) Handoff(idx);
    return;  // edge-triggered: the rest of the head wakes us again
  }
  std::shared_ptr<const GatewayTables> t;
  {
    std::lock_guard<std::mutex> lock(tables_mu);
    t = tables;
  }
  const GatewayModule* m = t && h.status == RequestHeadStatus::kComplete && h.has_module && h.has_target
                               ? t->Find(h.module) : nullptr;
  double timeout_s = 0;
  if (!m || !ParseGatewayTarget(*m, h.target, &c.target) || !ProbeTimeout(*m, h, &timeout_s)) return Handoff(idx);
  // Ours: consume exactly this request; a pipelined next one stays queued in the socket.
  ssize_t got = recv(c.fd, peek.data(), h.head_len, MSG_DONTWAIT);
  if (got != static_cast<ssize_t>(h.head_len)) return CloseConn(idx);
  c.more = static_cast<size_t>(n) > h.head_len;
  if (!h.keep_alive) c.close_after = true;
  c.tables = std::move(t);
  c.module = m;
  c.target_text = std::move(h.target);
  c.timeout_s = timeout_s;
  c.probing = true;
  c.t_start = MonoNs();
  StreamSpec spec;
  spec.id = ProbeId(idx, c.gen);
  spec.family = c.target.family;
  std::memcpy(spec.addr, c.target.addr, 16);
  spec.port = c.target.port;
  spec.timeout_ms = static_cast<uint32_t>(std::ceil(timeout_s * 1000));
  spec.flags = kStreamGateway;
  std::string request;
  if (m->kind == GatewayKind::kHttp) {
    spec.flags |= kStreamHttp | (m->method == "HEAD" ? kStreamHead : 0);
    spec.header_cap = 16384;
    spec.body_limit = m->body_limit;
    request = BuildHttpRequest(*m, c.target);
    spec.request_len = static_cast<uint32_t>(request.size());
  } else if (!m->reset_on_close) {
    spec.flags |= kStreamGraceful;
  }
  n_submitted.fetch_add(1, std::memory_order_relaxed);
  int64_t deadline = c.t_start + static_cast<int64_t>(spec.timeout_ms) * 1000000;
  const uint8_t* req = reinterpret_cast<const uint8_t*>(request.data());
  if (free_head != UINT32_MAX && backlog_off >= backlog.size()) return Start(spec, req, deadline);
  // Every slot is busy: queue behind the submissions from JS, in order.
  Queued q{spec, deadline};
  size_t off = backlog.size();
  backlog.resize(off + sizeof(q) + spec.request_len);
  std::memcpy(backlog.data() + off, &q, sizeof(q));
  if (spec.request_len) std::memcpy(backlog.data() + off + sizeof(q), req, spec.request_len);
}

void StreamEngine::Impl::OnGatewayOutcome(const StreamOutcome& o, const char* head) {
  uint32_t idx = o.id & 0xfffffu;
  if (idx >= conns.size()) return;
  GatewayConn& c = conns[idx];
  if (!c.busy || !c.probing || (c.gen & 0xfffu) != (o.id >> 20)) return;  // the client went away
  GatewayResult r;
  if (!EvaluateOutcome(*c.tables, *c.module, c.target, o, head, &r)) {
    // Only the TypeScript prober can finish this one: ask JS, which answers through Answer().
    GatewayAsk a;
    a.token = (static_cast<uint64_t>(c.gen) << 32) | idx;
    a.module = c.module->name;
    a.target = c.target_text;
    a.timeout_s = c.timeout_s;
    local.asks.push_back(std::move(a));
    n_gw_asked.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  r.duration_s = static_cast<double>(MonoNs() - c.t_start) / 1e9;
  Respond(idx, 200, kProbeContentType, RenderProbe(*c.module, r));
  n_gw_answered.fetch_add(1, std::memory_order_relaxed);
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
  c.tables.reset();
  c.module = nullptr;
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
  local.handoffs.push_back(c.fd);
  n_gw_handoffs.fetch_add(1, std::memory_order_relaxed);
  c.fd = -1;
  CloseConn(idx);
}

void StreamEngine::Impl::CloseConn(uint32_t idx) {
  GatewayConn& c = conns[idx];
  if (!c.busy) return;
  conns_open--;
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.busy = false;
  c.probing = false;
  c.tables.reset();
  c.module = nullptr;
  c.out.clear();
  c.gen++;  // a probe still running for this connection finds it gone
  c.next_free = conn_free;
  conn_free = idx;
}

void StreamEngine::Impl::ResumeAccept(int64_t now) {
  if (accept_paused_until == 0 || now < accept_paused_until) return;
  accept_paused_until = 0;
  epoll_event ee{};
  ee.events = EPOLLIN;
  ee.data.u64 = kListenTag;
  epoll_ctl(ep, EPOLL_CTL_MOD, listen_fd.load(), &ee);
}

void StreamEngine::Impl::SweepIdle(int64_t now) {
  if (now < next_sweep) return;
  next_sweep = now + 1000000000;  // once a second is plenty for a 65 s limit
  for (uint32_t i = 0; i < conns.size(); i++) {
    const GatewayConn& c = conns[i];
    if (c.busy && !c.probing && c.out.empty() && now - c.idle_since > kIdleNs) CloseConn(i);
  }
}

void StreamEngine::Impl::TakeAnswers() {
  for (JsAnswer& a : answers) {
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
