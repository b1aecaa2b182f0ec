#include "trace/engine.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <random>
#include <sys/socket.h>
#include <unistd.h>

#include "common/engine_io.h"
#include "common/engine_loop.h"
#include "packet/trace.h"
#include "trace/socket.h"

namespace sonde {
namespace {

constexpr uint32_t kSlots = 65536;  // keyed by the 16-bit probe key; key 0 is never used
constexpr size_t kBuf = 2048;
enum Sock { kIcmp4 = 0, kTcp4 = 1, kIcmp6 = 2, kTcp6 = 3, kUdp6 = 4, kRaw4 = 5, kNumSocks = 6 };  // also epoll tags
enum SlotState : uint8_t { kFree = 0, kInFlight = 1, kAnswered = 2 };

struct TSlot {
  uint8_t dst[16];
  int64_t tx_ns;  // CLOCK_REALTIME, comparable with SO_TIMESTAMPNS receive stamps
  int64_t tx_mono_ns;  // CLOCK_MONOTONIC, comparable with the drop tracer's event times
  uint32_t tag;
  uint16_t key, gen, flow, dport;
  uint8_t family, proto, state;
};

}  // namespace

struct TraceEngine::Impl {
  int fds[kNumSocks];
  uint32_t cookie = 0;
  std::vector<TSlot> slots;
  std::vector<uint16_t> free_keys;
  bool blocked = false;
  bool drained = false;  // this turn read the receive sockets before its first timeout (OnDeadline)
  Source4Cache src4;
  TSlot attempt{};  // the last probe SendOne built (key, gen, send time), for its send error
  uint8_t buf[kBuf];
  std::atomic<uint64_t> c_sent{0}, c_answered{0}, c_timeouts{0}, c_strays{0}, c_late{0}, c_send_errors{0};
  // Last: destroyed first, so its thread is joined before the state above goes.
  EngineLoop<TraceSpec, TraceOutcome> loop;

  Impl() { std::fill(std::begin(fds), std::end(fds), -1); }

  // The loop's handler (common/engine_loop.h).
  int BeforeWait() {
    drained = false;  // a new turn: what arrives from now on is read before its deadlines
    if (loop.pending().left() == 0) return LoopCore::kIdle;
    return blocked ? 1 : 0;  // full socket buffer or table: retry in a millisecond
  }
  void OnReady(const epoll_event* evs, int n) {
    for (int i = 0; i < n; i++) {
      uint32_t t = evs[i].data.u32;
      if (t < kNumSocks && fds[t] >= 0) Read(static_cast<int>(t));
    }
  }
  void Send() { SendPending(); }
  void OnDeadline(const Deadline& d);

  bool OpenRecv(int which, int domain, int proto, std::string* error);
  bool Ensure(int which);
  void Emit(const TSlot& s, TraceKind kind, uint8_t code, uint8_t qttl, uint32_t info, int64_t rx_ns, const uint8_t* from,
            uint8_t family);
  void SendPending();
  int SendOne(const TraceSpec& spec);
  void Read(int which);
  void Match(const TraceParsed& p, uint8_t family, const uint8_t* from, int64_t rx_ns);
};

bool TraceEngine::Impl::OpenRecv(int which, int domain, int proto, std::string* error) {
  int fd = OpenTraceReceiver(domain, proto, cookie, error);
  if (fd < 0) return false;
  fds[which] = fd;
  if (!loop.Watch(fd, static_cast<uint32_t>(which))) {
    if (error) *error = std::string("epoll: ") + std::strerror(errno);
    return false;
  }
  return true;
}

// TCP and IPv6 UDP sockets open on first use: a raw TCP socket receives a copy of every TCP
// segment the host gets, which only a TCP trace should pay for.
bool TraceEngine::Impl::Ensure(int which) {
  if (fds[which] >= 0) return true;
  if (which == kTcp4) return OpenRecv(kTcp4, AF_INET, IPPROTO_TCP, nullptr);
  if (which == kTcp6) return OpenRecv(kTcp6, AF_INET6, IPPROTO_TCP, nullptr);
  if (which == kUdp6) {
    fds[kUdp6] = OpenTraceUdp6Sender();
    return fds[kUdp6] >= 0;
  }
  return false;
}

void TraceEngine::Impl::Emit(const TSlot& s, TraceKind kind, uint8_t code, uint8_t qttl, uint32_t info, int64_t rx_ns,
                             const uint8_t* from, uint8_t family) {
  TraceOutcome o;
  o.tag = s.tag;
  o.kind = kind;
  o.code = code;
  o.family = from ? family : 0;
  o.quoted_ttl = qttl;
  o.info = info;
  o.rtt = rx_ns > 0 ? static_cast<double>(rx_ns - s.tx_ns) / 1e9 : 0;
  if (from) std::memcpy(o.from, from, 16);
  else std::memset(o.from, 0, 16);
  o.key = s.key;
  o.gen = s.gen;
  o.sent_mono_ns = s.tx_mono_ns;
  loop.Emit(o);
}

// 0: sent; > 0: errno that ends this probe; -1: retry later (socket buffer full).
int TraceEngine::Impl::SendOne(const TraceSpec& spec) {
  int which = spec.family == 4 ? kRaw4 : spec.proto == kProtoIcmp ? kIcmp6 : spec.proto == kProtoUdp ? kUdp6 : kTcp6;
  if (spec.proto == kProtoTcp && !Ensure(spec.family == 4 ? kTcp4 : kTcp6)) return errno ? errno : EPERM;
  if (!Ensure(which) && fds[which] < 0) return errno ? errno : EPERM;
  uint8_t src[16] = {};
  if (spec.family == 4) {
    int err = 0;
    if (!src4.Lookup(spec.dst, src, &err)) return err ? err : ENETUNREACH;
  }
  if (free_keys.empty()) return -1;
  uint16_t key = free_keys.back();
  TSlot& s = slots[key];
  TraceProbe p;
  p.family = spec.family;
  p.proto = spec.proto;
  p.ttl = spec.ttl;
  p.flow = spec.flow;
  p.dport = spec.dport;
  p.key = key;
  p.gen = static_cast<uint16_t>(s.gen + 1);
  p.cookie = cookie;
  p.src = spec.family == 4 ? src : nullptr;
  p.dst = spec.dst;
  p.payload_len = spec.payload_len;
  size_t len = BuildTraceProbe(buf, kBuf, p);
  if (len == 0) return EINVAL;
  sockaddr_storage ss;
  socklen_t sl = FillSockaddr(spec.family, spec.dst, 0, &ss);
  iovec iov{buf, len};
  msghdr mh{};
  mh.msg_name = &ss;
  mh.msg_namelen = sl;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) uint8_t ctl[CMSG_SPACE(sizeof(int))] = {};
  if (spec.family == 6) {
    // Per-packet hop limit (RFC 3542 6.3), so probes of every TTL share one socket.
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof(ctl);
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_HOPLIMIT;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int hl = spec.ttl;
    std::memcpy(CMSG_DATA(c), &hl, sizeof(int));
  }
  int64_t tx = Now(CLOCK_REALTIME);
  attempt.key = key;
  attempt.gen = p.gen;
  attempt.tx_mono_ns = Now(CLOCK_MONOTONIC);
  if (sendmsg(fds[which], &mh, MSG_DONTWAIT) < 0) {
    if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) return -1;
    return errno;
  }
  free_keys.pop_back();
  s.gen = p.gen;
  s.tx_ns = tx;
  s.tx_mono_ns = attempt.tx_mono_ns;
  s.key = key;
  s.tag = spec.tag;
  s.flow = spec.flow;
  s.dport = spec.dport;
  s.family = spec.family;
  s.proto = spec.proto;
  s.state = kInFlight;
  std::memcpy(s.dst, spec.dst, 16);
  // The key stays taken until its deadline, answered or not, so a second answer is seen as late.
  loop.Schedule(Now(CLOCK_MONOTONIC) + static_cast<int64_t>(spec.timeout_ms) * 1000000, key, s.gen);
  c_sent++;
  return 0;
}

void TraceEngine::Impl::SendPending() {
  auto& pending = loop.pending();
  blocked = false;
  for (int n = 0; n < 256 && pending.left() > 0; n++) {
    const TraceSpec& spec = pending[0];
    errno = 0;
    attempt = TSlot{};
    int r = SendOne(spec);
    if (r < 0) {
      blocked = true;  // full buffer or table: retry in a millisecond, in order
      return;
    }
    if (r > 0) {
      TSlot tmp = attempt;  // key and send time of the packet, if one was built (a local drop fails sendmsg)
      tmp.tag = spec.tag;
      if (attempt.key != 0 && !free_keys.empty() && free_keys.back() == attempt.key) {
        // The key stays free, but goes to the back of the line: otherwise every probe after a failed
        // send would carry the same key and be indistinguishable to the drop tracer.
        free_keys.pop_back();
        free_keys.insert(free_keys.begin(), attempt.key);
        slots[attempt.key].gen = attempt.gen;
      }
      Emit(tmp, TraceKind::kSendError, 0, 0, static_cast<uint32_t>(r), 0, nullptr, 0);
      c_send_errors++;
    }
    pending.Consume(1);
  }
}

void TraceEngine::Impl::Match(const TraceParsed& p, uint8_t family, const uint8_t* from, int64_t rx_ns) {
  if (!p.has_key || p.key == 0) {
    c_strays++;
    return;
  }
  TSlot& s = slots[p.key];
  bool same = s.family == family && s.proto == p.proto && s.flow == p.flow && (p.proto == kProtoIcmp || s.dport == p.dport) &&
              std::memcmp(s.dst, p.dst, family == 4 ? 4 : 16) == 0 && (!p.has_gen || p.gen == s.gen) &&
              (!p.has_cookie || p.cookie == cookie);
  if (!same || s.state == kFree) {
    c_strays++;  // not ours (another tool's probe, a forged answer) or a slot reused since
    return;
  }
  if (s.state != kInFlight) {
    c_late++;  // a second answer to an answered probe
    return;
  }
  TraceKind kind;
  switch (p.msg) {
    case TraceMsg::kTimeExceeded: kind = TraceKind::kTimeExceeded; break;
    case TraceMsg::kUnreachable: kind = TraceKind::kUnreachable; break;
    case TraceMsg::kEchoReply: kind = TraceKind::kEchoReply; break;
    case TraceMsg::kTcpSynAck: kind = TraceKind::kTcpSynAck; break;
    case TraceMsg::kTcpRst: kind = TraceKind::kTcpRst; break;
    default: c_strays++; return;
  }
  s.state = kAnswered;
  Emit(s, kind, p.code, p.quoted_ttl, p.info, rx_ns, from, family);
  c_answered++;
}

void TraceEngine::Impl::Read(int which) {
  for (int i = 0; i < 256; i++) {  // bounded; level-triggered epoll brings us back for the rest
    sockaddr_storage ss{};
    iovec iov{buf, kBuf};
    alignas(cmsghdr) uint8_t ctl[256];
    msghdr mh{};
    mh.msg_name = &ss;
    mh.msg_namelen = sizeof(ss);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof(ctl);
    ssize_t n = recvmsg(fds[which], &mh, MSG_DONTWAIT);
    if (n < 0) return;
    int64_t rx = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) ReadSocketTimestamp(c, &rx);
    if (rx == 0) rx = Now(CLOCK_REALTIME);
    if (mh.msg_flags & MSG_TRUNC) continue;
    TraceParsed p;
    uint8_t from[16] = {};
    if (which == kIcmp4 || which == kTcp4) {
      if (!ParseTrace4(buf, static_cast<size_t>(n), &p)) {
        if (which == kIcmp4) c_strays++;  // the TCP socket sees all TCP: not counted
        continue;
      }
      std::memcpy(from, p.from, 4);
      Match(p, 4, from, rx);
      continue;
    }
    if (ss.ss_family != AF_INET6) continue;
    std::memcpy(from, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, 16);
    bool ok = which == kIcmp6 ? ParseTrace6Icmp(buf, static_cast<size_t>(n), &p)
                              : ParseTrace6Tcp(buf, static_cast<size_t>(n), from, &p);
    if (!ok) {
      if (which == kIcmp6) c_strays++;
      continue;
    }
    if (p.msg == TraceMsg::kEchoReply) std::memcpy(p.dst, from, 16);
    Match(p, 6, from, rx);
  }
}

void TraceEngine::Impl::OnDeadline(const Deadline& d) {
  TSlot& s = slots[d.key];
  if (s.gen != d.gen || s.state == kFree) return;  // not scheduled for this use of the key
  // As the ICMP engine does: an answer waiting in a socket is read before its probe is called lost.
  if (s.state == kInFlight && !drained) {
    drained = true;
    for (int w = 0; w < kNumSocks; w++)
      if (w != kRaw4 && w != kUdp6 && fds[w] >= 0) Read(w);
  }
  if (s.state == kInFlight) {
    Emit(s, TraceKind::kTimeout, 0, 0, 0, 0, nullptr, 0);
    c_timeouts++;
  }
  s.state = kFree;
  free_keys.push_back(static_cast<uint16_t>(d.key));
}

std::unique_ptr<TraceEngine> TraceEngine::Create(TraceSink sink, std::string* error) {
  std::unique_ptr<TraceEngine> e(new TraceEngine());
  auto impl = std::make_unique<Impl>();
  Impl* p = impl.get();
  e->impl_ = std::move(impl);  // from here, the destructor closes whatever was opened
  if (!p->loop.Open(error)) return nullptr;
  // IPPROTO_RAW implies IP_HDRINCL (raw(7)): we write the IPv4 header, so the ID and TTL are ours.
  p->fds[kRaw4] = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
  if (p->fds[kRaw4] < 0) {
    *error = std::string("trace needs raw sockets (CAP_NET_RAW): ") + std::strerror(errno);
    return nullptr;
  }
  std::random_device rd;
  p->cookie = rd();
  if (!p->OpenRecv(kIcmp4, AF_INET, IPPROTO_ICMP, error)) return nullptr;
  // IPv6 may be disabled on the host: then IPv6 probes end as send errors, IPv4 still works.
  p->OpenRecv(kIcmp6, AF_INET6, IPPROTO_ICMPV6, nullptr);
  p->slots.assign(kSlots, TSlot{});
  p->free_keys.reserve(kSlots);
  for (uint32_t k = kSlots - 1; k >= 1; k--) p->free_keys.push_back(static_cast<uint16_t>(k));
  p->loop.deadlines().Reserve(kSlots);
  p->loop.SetSink(std::move(sink), 0);
  p->loop.Start(p);
  return e;
}

bool TraceEngine::Submit(const TraceSpec* specs, size_t n) { return impl_->loop.Submit(specs, n); }

void TraceEngine::Stop() {
  if (!impl_) return;
  impl_->loop.Stop();  // idempotent, and returns only once the thread is joined
  for (int& fd : impl_->fds) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

TraceEngine::~TraceEngine() { Stop(); }

TraceCounters TraceEngine::Counters() const {
  TraceCounters c;
  c.sent = impl_->c_sent;
  c.answered = impl_->c_answered;
  c.timeouts = impl_->c_timeouts;
  c.strays = impl_->c_strays;
  c.late = impl_->c_late;
  c.send_errors = impl_->c_send_errors;
  return c;
}

}  // namespace sonde
