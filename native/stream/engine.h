// The stream engine: TCP connect probes and plain HTTP/1.x probes on one thread with one epoll.
// The fast path for tcp_connect and http modules without TLS. Probe slots are preallocated and
// reused through a free list; per probe the only new resource is its socket. Submissions arrive
// through a mutex-protected byte queue and an eventfd; results leave in batches (Take). No N-API
// here: glue/stream.cc wraps it.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/qos.h"

namespace sonde {

struct StreamEngineOptions {
  // Probes with an open socket at once. Further submissions wait in the queue (their timeout
  // runs from submission). Clamped to what RLIMIT_NOFILE leaves room for.
  uint32_t capacity = 4096;
  // The slots each QoS class may hold and the bound on a lower class's queue (common/qos.h).
  QosLimits qos;
};

// Per-probe flags (stable numbers: they cross from JS).
constexpr uint32_t kStreamHttp = 1;      // send the request bytes and read an HTTP/1.x response
constexpr uint32_t kStreamGraceful = 2;  // connect-only: close with FIN instead of RST
constexpr uint32_t kStreamHead = 4;      // the request is HEAD: the response has no body
// A datagram exchange (UDP): one connected socket, the request sent as one datagram, the first
// datagram back whose leading match_len bytes equal the request's (or that is shorter than that)
// is the answer (its bytes in the head buffer, up to header_cap). Others are counted (foreign) and
// the wait goes on: a connected socket takes datagrams from the destination's address and port
// only, so they are the peer's late or wrong answers, never a third party's.
constexpr uint32_t kStreamDatagram = 8;
constexpr uint32_t kStreamFlagsMask = 15;

struct StreamSpec {
  uint32_t id = 0;          // the caller's handle, returned with the result
  uint8_t family = 4;       // 4 or 6
  bool has_src = false;
  uint16_t port = 0;
  uint16_t src_port = 0;    // 0: the kernel picks at connect time
  uint8_t addr[16] = {};    // IPv4 in the first 4 bytes
  uint8_t src[16] = {};
  uint32_t scope_id = 0;
  uint32_t timeout_ms = 1000;
  uint32_t flags = 0;
  uint32_t header_cap = 0;  // bytes of the raw response head to return
  uint64_t body_limit = 0;  // 0: none
  uint32_t request_len = 0; // bytes that follow the spec in the queue
  uint8_t qos = kQosCritical;  // QoS class (common/qos.h): which share of the slots it may take
  uint8_t match_len = 0;    // datagram: leading bytes an answer must share with the request
};

// Where a probe was when it ended (stable numbers, named in src/native/stream.ts).
enum class StreamPhase : uint8_t {
  kQueued = 0,      // never got a slot before its deadline
  kConnect = 1,     // socket, bind, connect, waiting for the handshake
  kWrite = 2,       // writing the request
  kProcessing = 3,  // request written, waiting for the first response byte
  kTransfer = 4,    // reading the response
  kDone = 5,
  kShed = 6,        // never queued: its QoS class's queue was past its bound (err ENOBUFS)
};

struct StreamOutcome {
  uint32_t id;
  int32_t err;            // 0, an errno (ECONNREFUSED, ETIMEDOUT, ECONNRESET...), or EPROTO for a parse error
  StreamPhase phase;      // kDone on success, else the phase the probe failed in
  uint8_t parse_error;    // HttpParseError
  uint8_t version_minor;  // HTTP/1.x minor version, 255 when no status line
  uint16_t status;        // HTTP status code, 0 when none
  uint16_t local_port;
  int64_t content_length; // -1 when unknown
  uint64_t body_bytes;     // datagram: the answer's size (more than head_len when it was cut)
  uint32_t foreign;        // datagram: datagrams from the peer that did not match the request
  // CLOCK_MONOTONIC nanoseconds; 0 for a phase not reached
  int64_t t_start, t_connected, t_written, t_first_byte, t_done;
  uint32_t head_off, head_len;  // raw response head in StreamBatch::heads
};

// A /probe request the gateway took (gateway/gateway.cc), for TypeScript to serve; it answers with
// StreamEngine::Answer. token: the connection (low half) and its generation (high half).
struct GatewayAsk {
  uint64_t token = 0;
  bool simple = false;         // module and target hold the query's only parameters (decoded)
  std::string module, target;  // when simple
  std::string query;           // when not: the raw query, for TypeScript to parse
  std::string scrape_timeout;  // X-Prometheus-Scrape-Timeout-Seconds as sent, "" when absent
  std::string peer;            // the client's address, as text
};

// Bounds on the connections the gateway holds, shared by every engine accepting on one listener.
// A connection past a bound is closed at once (nothing read): a flood of idle or slow clients
// cannot take the descriptors probes need.
struct GatewayLimits {
  uint32_t max_conns = 4096;      // open at once, over every engine
  uint32_t max_per_peer = 1024;   // open at once from one client address
  int64_t head_timeout_ns = 10LL * 1000000000;  // a request head must be complete within this
  std::mutex mu;
  uint32_t open = 0;                                  // guarded by mu
  std::vector<std::pair<std::string, uint32_t>> per_peer;  // guarded by mu: few distinct clients
  std::atomic<uint64_t> refused{0};
  // false: over a bound (nothing counted)
  bool Admit(const std::string& peer);
  void Release(const std::string& peer);
};

struct GatewayAnswer {
  uint64_t token;
  int status;
  std::string content_type, body;
};

struct StreamBatch {
  std::vector<StreamOutcome> outcomes;
  std::vector<char> heads;
  std::vector<int> handoffs;  // accepted connections the gateway leaves to Node's HTTP server
  std::vector<GatewayAsk> asks;
  std::vector<uint64_t> gone;  // tokens of asks whose client left before the answer
  bool empty() const { return outcomes.empty() && handoffs.empty() && asks.empty() && gone.empty(); }
  void clear() {
    outcomes.clear();
    heads.clear();
    handoffs.clear();
    asks.clear();
    gone.clear();
  }
};

struct StreamCounters {
  uint64_t submitted = 0, completed = 0, timeouts = 0, refused = 0, errors = 0, queued = 0, active = 0;
  uint64_t draining = 0;  // HTTP sockets kept open after the result, waiting for the server's FIN
  uint64_t gateway_asked = 0, gateway_handoffs = 0;  // /probe requests taken, connections handed to Node
  uint64_t gateway_gone = 0;      // requests whose client had left when they were read: never asked
  uint64_t gateway_refused = 0;   // connections closed at accept: over GatewayLimits (all engines)
  uint64_t gateway_head_timeouts = 0;  // connections closed: a request head incomplete too long
  uint64_t cancelled = 0;         // probes ended by Cancel
  uint64_t rebound = 0;           // probes that took a socket kept bound to their port (KeepBound)
  // By QoS class (kQos*): probes that took a slot, were shed, wait for a slot now, hold one now.
  uint64_t qos_started[kQosClasses] = {}, qos_shed[kQosClasses] = {};
  uint64_t qos_waiting[kQosClasses] = {}, qos_held[kQosClasses] = {};
};

class StreamEngine {
 public:
  // Starts the thread. on_ready is called from the engine thread when results are waiting and
  // the previous on_ready has been answered by Take (so at most one notification is pending).
  static std::unique_ptr<StreamEngine> Create(const StreamEngineOptions& opts, std::function<void()> on_ready,
                                              std::string* error);
  ~StreamEngine();
  StreamEngine(const StreamEngine&) = delete;
  StreamEngine& operator=(const StreamEngine&) = delete;

  // Thread-safe. Copies the request bytes. Returns false after Stop(). With defer_wake, the
  // thread is not woken now: the caller submits a whole batch, then calls Flush once (one eventfd
  // write per batch even while the thread keeps taking the queue between submissions).
  bool Submit(const StreamSpec& spec, const uint8_t* request, bool defer_wake = false);
  // Wakes the thread for deferred submissions, if any are waiting for it. Thread-safe.
  void Flush();
  // Ends these probes (submitted, not finished) with ECANCELED; unknown ids are ignored. Thread-safe.
  void Cancel(const uint32_t* ids, size_t n);
  // Moves the waiting results into *out (cleared first) and re-arms on_ready.
  void Take(StreamBatch* out);
  // Joins the thread and closes every socket; probes not finished produce no result.
  void Stop();
  StreamCounters Counters() const;
  uint32_t capacity() const;
  // New QoS limits (a reload), applied at the thread's next turn; thread-safe.
  void SetQos(const QosLimits& limits);

  // The /probe gateway (gateway/gateway.cc): the engine accepts on sonde's listener, takes the
  // /probe requests (GatewayAsk in its batches) and hands every other connection to Node.
  // Listen opens the listener and returns the bound port or -errno; thread-safe, once.
  int Listen(uint8_t family, const uint8_t* addr, uint16_t port, const std::shared_ptr<GatewayLimits>& limits);
  // Accepts on `other`'s listener too (the same socket): 0 or -errno; thread-safe, once.
  int ShareListener(const StreamEngine& other);
  // Answers to GatewayAsks (stale tokens are ignored), taken from *batch (left empty); thread-safe,
  // one wake-up per batch.
  void Answer(std::vector<GatewayAnswer>* batch);

  struct Impl;

 private:
  StreamEngine() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sonde
