// eBPF drop tracer and XDP observer, loaded with libbpf (no N-API here: glue/bpf.cc wraps it).
// One BpfTracer owns both BPF objects, their links, the ring buffer and the thread that polls it.
// Everything it creates is released by one path (Stop, also run by the destructor); nothing is pinned,
// so the kernel detaches the programs when the process exits, SIGKILL included (bpf_link fds).
#pragma once

#include <linux/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "drop.h"
#include "bpf/kernel_names.h"  // the names events carry (reasons, locations)

struct bpf_object;
struct bpf_link;
struct ring_buffer;

namespace sonde {

struct BpfOptions {
  std::string object_dir;       // where drop.bpf.o and xdp_observe.bpf.o are
  bool report_all = false;      // every drop, not only probe flows
  uint32_t local_netns = 0;     // netns inode of the probe host; 0 = all namespaces
  uint32_t max_flows = 65536;   // flow map entries
  uint32_t ring_bytes = 1 << 20;  // ring buffer size (rounded up to a power of two, >= page size)
  uint32_t max_seen = 65536;    // `seen` map entries (replies recorded by XDP, LRU)
  bool xdp_events = false;      // XDP also sends one ring event per matched reply (else the seen map only)
  bool run_stats = true;        // BPF_ENABLE_STATS while running, for run_time_ns / run_cnt
};

struct BpfProgStats {
  std::string name;
  uint32_t id = 0;  // kernel program id (bpftool prog show id N)
  uint64_t run_cnt = 0;
  uint64_t run_time_ns = 0;
};

// Called on the poll thread with every event read in one pass (never empty unless drained == true).
using BpfEventSink = std::function<void(std::vector<sonde_event>&& batch, uint64_t drained_seq)>;

class BpfTracer {
 public:
  BpfTracer() = default;
  ~BpfTracer();
  BpfTracer(const BpfTracer&) = delete;
  BpfTracer& operator=(const BpfTracer&) = delete;

  // Opens, configures, loads and attaches the drop tracer and starts the poll thread.
  // Returns "" or a message saying what is missing (for "eBPF unavailable: <message>").
  std::string Start(const BpfOptions& opts, BpfEventSink sink);
  // Detaches everything and joins the poll thread. Idempotent.
  void Stop();

  // 0 or -errno (-E2BIG when the flow map is full). An existing key is taken over by flow_id.
  int AddFlow(const sonde_flow_key& key, uint32_t flow_id);
  int RemoveFlow(const sonde_flow_key& key);
  bool FlowState(const sonde_flow_key& key, sonde_flow_state* out) const;
  // The BPF_F_MMAPABLE `port_flows` array (SONDE_PORT_FLOWS_SLOTS states), -1 when not running: the
  // caller mmaps it and registers port flows by writing flow ids, without a syscall each.
  int port_flows_fd() const { return port_flows_fd_; }
  // What XDP recorded of the replies of one probe: (flow_id, ICMP id << 16 | seq, or 0 for a flow).
  bool Seen(uint32_t flow_id, uint32_t wire, sonde_seen* out) const;

  // Attaches the XDP observer to an interface of this process's netns. Returns "" or an error.
  std::string AttachXdp(int ifindex);
  std::string DetachXdp(int ifindex);

  // Asks the poll thread for one more full pass; the sink is called with drained_seq >= the result.
  uint64_t RequestDrain();

  std::vector<BpfProgStats> ProgramStats() const;
  uint64_t EventsLost() const;
  uint64_t XdpMatched() const;
  bool running() const { return running_.load(); }

 private:
  std::string LoadXdpObject();
  void PollLoop();

  BpfOptions opts_;
  BpfEventSink sink_;
  bpf_object* drop_obj_ = nullptr;
  bpf_object* xdp_obj_ = nullptr;
  bpf_link* drop_link_ = nullptr;
  std::map<int, bpf_link*> xdp_links_;
  ring_buffer* ring_ = nullptr;
  int flows_fd_ = -1;
  int seen_fd_ = -1;
  int lost_fd_ = -1;
  int port_flows_fd_ = -1;
  int stats_fd_ = -1;
  int wake_fd_ = -1;   // eventfd: drain requests and stop
  int epoll_fd_ = -1;  // ring buffer's epoll fd + wake_fd_
  std::thread poller_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> drain_requested_{0};
  mutable std::mutex mu_;  // guards xdp_obj_ and xdp_links_
  std::vector<sonde_event> pending_;  // poll thread only

  uint64_t SumCounter(uint32_t slot) const;
};

}  // namespace sonde
