// Internals of the stream engine shared by stream/engine.cc (thread, queue, results, timers) and
// stream/probe.cc (what happens to one probe's socket). Not included outside those two.
#pragma once
#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <ctime>

#include "stream/http_parse.h"
#include "stream/engine.h"
#include "common/zero_array.h"

namespace sonde {

// A sockaddr for (family, address bytes, port, IPv6 scope); returns its length (stream/probe.cc).
socklen_t FillAddr(sockaddr_storage* ss, uint8_t family, const uint8_t* addr, uint16_t port, uint32_t scope);

inline int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// How long an HTTP socket stays open after its response is complete, waiting for the server's
// FIN (we asked for "Connection: close"). Closing after the FIN makes us the passive closer, so
// TIME_WAIT stays on the server (RFC 9293 3.6); past this we reset instead.
constexpr int64_t kDrainNs = 250 * 1000000LL;
// Reads per readiness event before the socket waits its turn again: one fast sender must not
// starve the other probes or the timers.
constexpr int kReadsPerEvent = 16;
// Exchanges a kept datagram socket without a caller's port serves before it is closed: the
// kernel's source port for it then changes, as a resolver's would (RFC 5452 section 9.2).
constexpr uint16_t kMaxDatagramUses = 1000;

struct Slot {
  int fd = -1;
  uint32_t gen = 0;          // bumped on reuse: stale epoll events for an old probe are ignored
  uint32_t id = 0;
  uint32_t flags = 0;
  uint32_t next_free = 0;
  int32_t heap_pos = -1;
  bool busy = false;
  bool draining = false;     // result delivered, waiting for the server's FIN
  bool early_input = false;  // EPOLLIN seen before the request was written (edge-triggered)
  bool poolable = false;     // connect-only, reset on close, nothing bound: its socket may be reused
  bool keeps_port = false;   // connect-only, reset on close, bound to a caller's port: kept bound for it
  uint8_t family = 4;
  StreamPhase phase = StreamPhase::kConnect;
  uint16_t local_port = 0;
  uint16_t port = 0;         // the destination's: a local port equal to it may be a self-connect
  uint8_t qos = kQosCritical;  // the QoS class whose share this slot counts in (common/qos.h)
  int64_t deadline = 0;
  int64_t t_start = 0, t_connected = 0, t_written = 0, t_first_byte = 0;
  size_t req_off = 0;
  uint8_t match_len = 0;     // datagram (kStreamDatagram)
  uint32_t foreign = 0;      // datagram: non-matching datagrams seen
  uint32_t dgram_len = 0;    // datagram: answer bytes captured in head
  uint64_t dgram_size = 0;   // datagram: the answer's full size
  uint32_t dgram_cap = 0;    // datagram: answer bytes to keep (header_cap)
  std::string request;       // capacity is kept across reuses: no allocation once warm
  std::vector<char> head;    // capture buffer for the response head, likewise reused
  HttpResponseParser parser;
};

// Min-heap of slot indices by deadline, each slot knowing its position so that a finished probe
// leaves the heap at once (O(log n)); its size never exceeds the slot count.
class DeadlineHeap {
 public:
  void Init(std::vector<Slot>* slots, size_t capacity) {
    slots_ = slots;
    heap_.reserve(capacity);
  }
  bool empty() const { return heap_.empty(); }
  uint32_t top() const { return heap_[0]; }
  void Push(uint32_t idx);
  void Remove(uint32_t idx);

 private:
  int64_t Key(size_t pos) const { return (*slots_)[heap_[pos]].deadline; }
  void Place(size_t pos, uint32_t idx) {
    heap_[pos] = idx;
    (*slots_)[idx].heap_pos = static_cast<int32_t>(pos);
  }
  void Up(size_t pos);
  void Down(size_t pos);
  std::vector<Slot>* slots_ = nullptr;
  std::vector<uint32_t> heap_;
};

// One connection to sonde's listener while the gateway holds it (gateway/gateway.cc).
struct GatewayConn {
  int fd = -1;
  uint32_t gen = 0;
  uint32_t next_free = 0;
  bool busy = false;
  bool probing = false;     // TypeScript works on its request: read nothing more meanwhile
  bool close_after = false; // HTTP/1.0 or "Connection: close": close after the answer
  bool peer_closed = false; // the client's FIN arrived: a request taken now is cancelled at once
  bool more = false;        // bytes beyond the request in hand were seen: read again after answering
  bool watch_out = false;   // EPOLLOUT is in the interest set: an answer waits for send buffer space
  int64_t idle_since = 0;   // accepted or last answered: an idle connection is closed after kIdleNs
  int64_t head_since = 0;   // the first bytes of an incomplete request head arrived (0: none)
  std::string peer;         // the client's address (GatewayLimits counts by it)
  std::string out;          // response bytes not written yet
  size_t out_off = 0;
};

// Epoll tags besides probe slots (Tag(idx, gen) with idx < capacity).
constexpr uint64_t kEventTag = UINT64_MAX;
constexpr uint64_t kListenTag = UINT64_MAX - 1;
constexpr uint32_t kConnBit = 0x80000000u;  // set in a tag's index half: a gateway connection
// A datagram socket's tag: this index half and its descriptor in the other (DgramTag). A kept
// socket stays in the set under it from one exchange to the next, and its events go to the
// exchange that owns it now (DgramPeer::owner): no epoll_ctl per exchange.
constexpr uint32_t kDgramIndex = 0x7fffffffu;
constexpr uint64_t kNoOwner = UINT64_MAX;
constexpr uint32_t kMaxConns = 1u << 16;
// Node's server.keepAliveTimeout in src/api/server.ts: an idle client's connection is closed
// after this, also one that never completes a request (a slow or stuck client holds no slot).
constexpr int64_t kIdleNs = 65LL * 1000000000;

// The deadline of a queued record whose probe was cancelled (its outcome delivered): skipped.
constexpr int64_t kCancelledDeadline = INT64_MIN;

struct StreamEngine::Impl {
  // Queue record: this header, then request_len bytes. Copied with memcpy (no alignment).
  struct Queued {
    StreamSpec spec;
    int64_t deadline;
  };

  uint32_t capacity = 0;
  std::vector<Slot> slots;
  uint32_t free_head = UINT32_MAX;  // freed slots, last freed first; then slots.size() up to capacity
  bool SlotFree() const { return free_head != UINT32_MAX || slots.size() < capacity; }
  uint32_t busy = 0;
  int ep = -1;
  int ev = -1;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::function<void()> on_ready;

  std::mutex in_mu;
  std::vector<uint8_t> in;         // guarded by in_mu
  bool closed = false;             // guarded by in_mu
  bool wake_due = false;           // guarded by in_mu: a deferred submission awaits Flush's wake-up
  // guarded by in_mu: the thread found no input and is (about to be) in epoll_wait. A wake-up
  // (eventfd write) cost a sixth of the JS thread's time per UDP probe when every JS turn sent one
  // to a thread that was awake anyway or already woken.
  bool asleep = false;
  // in_mu held: whether this caller must write the eventfd (the thread sleeps and nobody woke it yet).
  bool TakeWake() {
    bool w = asleep;
    asleep = false;
    return w;
  }
  std::vector<uint32_t> cancels_in;  // guarded by in_mu: probe ids to end (Cancel)
  std::vector<uint32_t> cancels;     // engine thread
  // Submissions in `in` and their class when all share one (-1: none yet, -2: mixed); guarded by in_mu.
  size_t in_records = 0;
  int in_class = -1;
  QosLimits qos_in;                // guarded by in_mu: limits set by SetQos, taken at the next Intake
  bool qos_due = false;            // guarded by in_mu
  ByteFifo queues[kQosClasses];    // engine thread: submissions not started yet, by QoS class
  QosGate qos;                     // engine thread: slots held per class
  QosCounters qos_counters;

  StreamBatch local;               // engine thread: results of this loop turn
  std::mutex out_mu;
  StreamBatch ready;               // guarded by out_mu
  std::atomic<bool> notified{false};

  DeadlineHeap heap;
  std::vector<uint64_t> again, again_next;  // sockets that still had data after kReadsPerEvent
  std::vector<char> rbuf;
  // Disconnected sockets of finished connect-only probes, by family (4, 6), still in the epoll set:
  // connect(AF_UNSPEC) sends the RST and leaves a socket that connects again, which costs a third
  // less than socket()+epoll_ctl(ADD)+close() per probe (kernel 6.18, loopback: 40k vs 29k/s).
  std::vector<int> pool4, pool6;
  // The same for probes that bind a port of their caller's (eBPF flows, src/probers/fast.ts): the
  // disconnected socket keeps its port (it was bound explicitly: tcp_set_state keeps a
  // SOCK_BINDPORT_LOCK port at TCP_CLOSE), so the next probe from that port skips socket(),
  // setsockopt(), bind() and close() too. By port (common/zero_array.h).
  PortMap bound4, bound6;
  size_t n_bound = 0;
  // HTTP probes from a caller's port still draining (result delivered, the server's FIN awaited),
  // by port: the caller may hand the port to the next probe at once, and a second
  // socket bound to it could not connect to the same server (EADDRNOTAVAIL): that probe ends the
  // drain and takes the socket (EndDrainOn).
  PortMap drain4, drain6;
  void EndDrainOn(uint8_t family, uint16_t port);
  // Datagram sockets kept after a clean exchange (its answer read; never after a timeout, when a
  // late answer could still come): by caller's port (eBPF flows), and without one, a
  // stack per family whose sockets keep the port the kernel gave them for kMaxDatagramUses
  // exchanges. socket()+bind()+close() were a quarter of a UDP probe's CPU. Uses by descriptor.
  PortMap dbound4, dbound6;
  std::vector<int> dpool4, dpool6;
  std::vector<uint16_t> dgram_uses;
  // By descriptor: the peer a kept datagram socket is connected to, and its local port. A kept
  // socket asked for the same peer again (a module probing its server) skips connect() and
  // getsockname(), which redo the route lookup and the port for nothing.
  struct DgramPeer {
    uint64_t owner = kNoOwner;  // Tag of the exchange the socket serves now; kNoOwner while kept
    bool valid = false;
    uint8_t family = 0;
    uint16_t port = 0;
    uint16_t local_port = 0;
    uint32_t scope = 0;
    uint8_t addr[16] = {};
  };
  std::vector<DgramPeer> dgram_peer;
  size_t n_dbound = 0;
  int TakeDatagramSocket(const StreamSpec& spec);
  void ParkDatagram(Slot& s);
  std::atomic<uint64_t> n_rebound{0};
  void KeepBound(Slot& s);
  void ServerClosed(Slot& s);

  std::atomic<uint64_t> n_submitted{0}, n_completed{0}, n_timeouts{0}, n_refused{0}, n_errors{0}, n_draining{0};

  // gateway (gateway/gateway.cc)
  std::atomic<int> listen_fd{-1};
  std::vector<GatewayConn> conns;
  uint32_t conn_free = UINT32_MAX;
  std::vector<GatewayAnswer> answers_in;  // guarded by in_mu
  std::vector<GatewayAnswer> answers;     // engine thread
  std::vector<char> peek;
  std::atomic<uint64_t> n_gw_asked{0}, n_gw_handoffs{0}, n_gw_gone{0}, n_gw_head_timeouts{0}, n_cancelled{0};
  std::shared_ptr<GatewayLimits> limits;  // set by Listen / ShareListener
  uint32_t conns_open = 0;
  int64_t accept_paused_until = 0;  // accept4 ran out of descriptors: the listener rests until then
  int64_t next_sweep = 0;

  // stream/engine.cc
  void Run();
  void Intake(bool signalled);  // signalled: the eventfd was written (read it)
  void IntakeLocked();  // in_mu held
  void TakeCancels();
  void StartQueued();
  void Shed(const Queued& q);
  void QueuedOutcome(const Queued& q, int err, StreamPhase phase);
  void CountWaiting();
  int64_t FirstQueuedDeadline();
  void Expire(int64_t now);
  void Publish();
  void Deliver(const StreamOutcome& o, const char* head);
  // gateway/gateway.cc
  void OnAccept();
  void OnConnEvent(uint32_t idx, uint32_t events);
  void TryRequest(uint32_t idx);
  void Respond(uint32_t idx, int status, const std::string& content_type, const std::string& body);
  void FlushConn(uint32_t idx);
  void Handoff(uint32_t idx);
  void WatchWritable(uint32_t idx, bool on);
  void CloseConn(uint32_t idx);
  void TakeAnswers();
  void CloseGateway();
  void SweepIdle(int64_t now);
  void ResumeAccept(int64_t now);
  // stream/probe.cc
  void Start(const StreamSpec& spec, const uint8_t* request, int64_t deadline);
  void OnEvent(uint32_t idx, uint32_t events);
  void OnConnected(Slot& s, uint32_t idx);
  void StartDatagram(Slot& s, uint32_t idx, const StreamSpec& spec);
  // first: called by StartDatagram, no epoll_wait since the socket's registration or last answer
  void SendDatagram(Slot& s, uint32_t idx, bool first = false);
  void OnDatagramEvent(uint32_t fd, uint32_t events);
  void Disown(int fd);
  void ReadDatagram(Slot& s, uint32_t idx);
  void WriteRequest(Slot& s, uint32_t idx, bool readable);
  void ReadResponse(Slot& s, uint32_t idx);
  void Succeed(Slot& s, int64_t now);
  void Fail(Slot& s, int err, int64_t now);
  void Emit(Slot& s, int err, int64_t now);
  void Close(Slot& s, bool reset);
  void Recycle(Slot& s);
  void TimedOut(Slot& s, int64_t now);
  static uint64_t Tag(uint32_t idx, uint32_t gen) { return (static_cast<uint64_t>(gen) << 32) | idx; }
  static uint64_t DgramTag(int fd) { return (static_cast<uint64_t>(static_cast<uint32_t>(fd)) << 32) | kDgramIndex; }
};

}  // namespace sonde
