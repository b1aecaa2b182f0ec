#include "bpf/loader.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstring>

// The layout is shared with bpf/*.bpf.c through drop.h; a compiler that padded differently from clang's
// BPF target would silently misread events, so the sizes and a few offsets are pinned here.
static_assert(sizeof(sonde_flow_key) == 40, "sonde_flow_key layout");
static_assert(offsetof(sonde_flow_key, local) == 8, "sonde_flow_key.local");
static_assert(offsetof(sonde_flow_key, remote) == 24, "sonde_flow_key.remote");
static_assert(sizeof(sonde_flow_state) == 32, "sonde_flow_state layout");
static_assert(offsetof(sonde_flow_state, xdp_packets) == 8, "sonde_flow_state.xdp_packets");
static_assert(offsetof(sonde_flow_state, drops) == 24, "sonde_flow_state.drops");
static_assert(sizeof(sonde_event) == 88, "sonde_event layout");
static_assert(offsetof(sonde_event, wire_tag) == 80, "sonde_event.wire_tag");
static_assert(sizeof(sonde_seen_key) == 8 && sizeof(sonde_seen) == 24, "sonde_seen layout");
static_assert(offsetof(sonde_event, reason) == 16, "sonde_event.reason");
static_assert(offsetof(sonde_event, kind) == 32, "sonde_event.kind");
static_assert(offsetof(sonde_event, sport) == 36, "sonde_event.sport");
static_assert(offsetof(sonde_event, saddr) == 40, "sonde_event.saddr");
static_assert(offsetof(sonde_event, icmp_seq) == 72, "sonde_event.icmp_seq");
static_assert(offsetof(sonde_event, len) == 76, "sonde_event.len");

namespace sonde {
namespace {

constexpr size_t kMaxBatch = 4096;  // events handed to the sink at once
constexpr int kPollMs = 100;       // ring poll period

// libbpf prints to stderr by default; keep its last lines to explain a failure instead.
std::mutex g_log_mu;
std::string g_log;

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log.append(buf);
  if (g_log.size() > 16384) g_log.erase(0, g_log.size() - 8192);
  return n;
}

std::string TakeLibbpfLog() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  std::string out;
  out.swap(g_log);
  // The last two lines are the ones that name the failure.
  while (!out.empty() && out.back() == '\n') out.pop_back();
  size_t cut = out.rfind('\n');
  if (cut != std::string::npos && cut > 0) cut = out.rfind('\n', cut - 1);
  return cut == std::string::npos ? out : out.substr(cut + 1);
}

std::string ErrText(const std::string& what, int err) {
  err = err < 0 ? -err : err;
  std::string msg = what + ": " + strerror(err);
  if (err == EPERM || err == EACCES) msg += " (needs CAP_BPF and CAP_PERFMON, or root)";
  std::string log = TakeLibbpfLog();
  if (!log.empty()) {
    for (char& c : log) if (c == '\n') c = ' ';
    msg += " [libbpf: " + log + "]";
  }
  return msg;
}

// Writes a `const volatile` global in the object's .rodata before load (what a skeleton does through
// its mmaped struct): the variable's offset comes from the object's BTF DATASEC.
bool SetRodata(bpf_object* obj, const char* var, const void* value, size_t size) {
  bpf_map* rodata = nullptr;
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    const char* name = bpf_map__name(m);
    size_t len = strlen(name);
    if (len >= 7 && strcmp(name + len - 7, ".rodata") == 0) rodata = m;
  }
  const btf* b = bpf_object__btf(obj);
  if (!rodata || !b) return false;
  size_t data_size = 0;
  const void* initial = bpf_map__initial_value(rodata, &data_size);
  int sec_id = btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
  if (!initial || sec_id < 0) return false;
  std::vector<char> data(static_cast<const char*>(initial), static_cast<const char*>(initial) + data_size);
  const btf_type* sec = btf__type_by_id(b, sec_id);
  const btf_var_secinfo* vs = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); i++, vs++) {
    const btf_type* vt = btf__type_by_id(b, vs->type);
    if (strcmp(btf__name_by_offset(b, vt->name_off), var) != 0) continue;
    if (vs->size != size || vs->offset + size > data_size) return false;
    memcpy(data.data() + vs->offset, value, size);
    return bpf_map__set_initial_value(rodata, data.data(), data.size()) == 0;
  }
  return false;
}

uint32_t RoundRing(uint32_t bytes) {
  uint32_t page = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  uint32_t v = page;
  while (v < bytes && v < (1u << 30)) v <<= 1;  // BPF ring buffers are a power-of-two of pages
  return v;
}

int HandleEvent(void* ctx, void* data, size_t size) {
  if (size < sizeof(sonde_event)) return 0;
  auto* pending = static_cast<std::vector<sonde_event>*>(ctx);
  sonde_event ev;
  memcpy(&ev, data, sizeof ev);
  pending->push_back(ev);
  return 0;
}

}  // namespace

BpfTracer::~BpfTracer() { Stop(); }

std::string BpfTracer::Start(const BpfOptions& opts, BpfEventSink sink) {
  if (running_) return "tracer already running";
  libbpf_set_print(LibbpfPrint);
  TakeLibbpfLog();
  opts_ = opts;
  sink_ = std::move(sink);
  struct stat st;
  if (stat("/sys/kernel/btf/vmlinux", &st) != 0) return "kernel has no BTF (/sys/kernel/btf/vmlinux is missing)";
  std::string path = opts.object_dir + "/drop.bpf.o";
  if (stat(path.c_str(), &st) != 0) return "BPF object " + path + " is not built (run `npm run setup`)";

  std::string err;
  auto fail = [&](const std::string& msg) {
    err = msg;
    Stop();
    return err;
  };
  drop_obj_ = bpf_object__open_file(path.c_str(), nullptr);
  if (!drop_obj_) return fail(ErrText("opening " + path, errno));
  uint8_t all = opts.report_all ? 1 : 0;
  // The running kernel's numbers for NO_SOCKET and SOCKET_FILTER (0 if it has none): see
  // echo_reply_clone in drop.bpf.c.
  uint32_t clone_reasons[3] = {0, 0, 0};
  for (const auto& [num, name] : DropReasonNames()) {
    if (name == "NO_SOCKET") clone_reasons[0] = num;
    if (name == "SOCKET_FILTER") clone_reasons[1] = num;
    if (name == "QUEUE_PURGE") clone_reasons[2] = num;
  }
  if (!SetRodata(drop_obj_, "report_all", &all, 1) ||
      !SetRodata(drop_obj_, "local_netns", &opts.local_netns, 4) ||
      !SetRodata(drop_obj_, "echo_reply_clone", clone_reasons, sizeof clone_reasons)) {
    return fail("drop.bpf.o has no report_all/local_netns/echo_reply_clone knobs (stale build?)");
  }
  bpf_map* flows = bpf_object__find_map_by_name(drop_obj_, "flows");
  bpf_map* events = bpf_object__find_map_by_name(drop_obj_, "events");
  bpf_map* lost = bpf_object__find_map_by_name(drop_obj_, "lost");
  bpf_map* seen = bpf_object__find_map_by_name(drop_obj_, "seen");
  bpf_map* port_flows = bpf_object__find_map_by_name(drop_obj_, "port_flows");
  if (!flows || !events || !lost || !seen || !port_flows) return fail("drop.bpf.o lacks its maps (stale build?)");
  bpf_map__set_max_entries(flows, std::max<uint32_t>(opts.max_flows, 1));
  bpf_map__set_max_entries(seen, std::max<uint32_t>(opts.max_seen, 64));
  bpf_map__set_max_entries(events, RoundRing(opts.ring_bytes));
  int rc = bpf_object__load(drop_obj_);
  if (rc) return fail(ErrText("loading drop.bpf.o", rc));
  bpf_program* prog = bpf_object__find_program_by_name(drop_obj_, "sonde_kfree_skb");
  if (!prog) return fail("drop.bpf.o lacks sonde_kfree_skb");
  drop_link_ = bpf_program__attach(prog);
  if (!drop_link_) return fail(ErrText("attaching tp_btf/kfree_skb", errno));
  flows_fd_ = bpf_map__fd(flows);
  seen_fd_ = bpf_map__fd(seen);
  lost_fd_ = bpf_map__fd(lost);
  port_flows_fd_ = bpf_map__fd(port_flows);

  if (opts.run_stats) {
    // Holds run-time accounting on while the fd lives (kernel 5.8+); without CAP_SYS_ADMIN the
    // stats stay at whatever kernel.bpf_stats_enabled gives, which is not fatal.
    stats_fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (stats_fd_ < 0) stats_fd_ = -1;
  }

  ring_ = ring_buffer__new(bpf_map__fd(events), HandleEvent, &pending_, nullptr);
  if (!ring_) return fail(ErrText("creating the ring buffer reader", errno));
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || epoll_fd_ < 0) return fail(ErrText("eventfd/epoll", errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = ring_buffer__epoll_fd(ring_);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ev.data.fd, &ev);
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);

  stopping_ = false;
  running_ = true;
  ReleaseFreedMemory();  // what the object's load parsed (the kernel's BTF) is freed by now
  poller_ = std::thread(&BpfTracer::PollLoop, this);
  return "";
}

void BpfTracer::PollLoop() {
  // Warm the caches the glue reads per event, off the JS thread: the drop reasons now (small), the
  // kernel's symbols (kallsyms, ~200k lines, a few MB) with the first events, so that a daemon that
  // never sees a drop never holds them.
  DropReasonNames();
  bool symbols = false;
  uint64_t drained = 0;
  epoll_event evs[2];
  while (!stopping_.load()) {
    // The programs submit without wakeups (see sonde_submit): this timeout is the delivery latency.
    int n = epoll_wait(epoll_fd_, evs, 2, kPollMs);
    if (n < 0 && errno != EINTR) break;
    uint64_t want = drain_requested_.load();
    uint64_t junk;
    while (read(wake_fd_, &junk, sizeof junk) == sizeof junk) {
    }
    if (stopping_.load()) break;
    // Consume in bounded slices so a flood (`--all`) reaches JS in batches of kMaxBatch.
    for (int guard = 0; guard < 1024; guard++) {
      int got = ring_buffer__consume(ring_);
      if (!symbols && !pending_.empty()) {
        KernelSymbol(0);
        symbols = true;
      }
      if (pending_.size() >= kMaxBatch) {
        sink_(std::move(pending_), 0);
        pending_.clear();
      }
      if (got <= 0) break;
    }
    if (!pending_.empty() || want > drained) {
      sink_(std::move(pending_), want);
      pending_.clear();
      drained = want;
    }
  }
}

uint64_t BpfTracer::RequestDrain() {
  uint64_t seq = ++drain_requested_;
  uint64_t one = 1;
  if (wake_fd_ >= 0 && write(wake_fd_, &one, sizeof one) < 0) {
    // the counter saturates only after 2^64-1 unread wakes; nothing to do
  }
  return seq;
}

void BpfTracer::Stop() {
  stopping_ = true;
  if (poller_.joinable()) {
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
    }
    poller_.join();
  }
  running_ = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [ifindex, link] : xdp_links_) bpf_link__destroy(link);
    xdp_links_.clear();
    if (xdp_obj_) bpf_object__close(xdp_obj_);
    xdp_obj_ = nullptr;
  }
  if (drop_link_) bpf_link__destroy(drop_link_);
  drop_link_ = nullptr;
  if (ring_) ring_buffer__free(ring_);
  ring_ = nullptr;
  if (drop_obj_) bpf_object__close(drop_obj_);
  drop_obj_ = nullptr;
  for (int* fd : {&stats_fd_, &wake_fd_, &epoll_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  flows_fd_ = seen_fd_ = lost_fd_ = port_flows_fd_ = -1;
}

int BpfTracer::AddFlow(const sonde_flow_key& key, uint32_t flow_id) {
  if (flows_fd_ < 0) return -ENOTCONN;
  sonde_flow_state st{};
  st.flow_id = flow_id;
  // BPF_ANY: a newly bound socket owns its 5-tuple even if an ended probe's entry is still there
  // (user space tracks which id owns a key and never deletes a key it no longer owns).
  int rc = bpf_map_update_elem(flows_fd_, &key, &st, BPF_ANY);
  return rc < 0 ? -errno : 0;
}

int BpfTracer::RemoveFlow(const sonde_flow_key& key) {
  if (flows_fd_ < 0) return -ENOTCONN;
  int rc = bpf_map_delete_elem(flows_fd_, &key);
  return rc < 0 ? -errno : 0;
}

bool BpfTracer::FlowState(const sonde_flow_key& key, sonde_flow_state* out) const {
  return flows_fd_ >= 0 && bpf_map_lookup_elem(flows_fd_, &key, out) == 0;
}

bool BpfTracer::Seen(uint32_t flow_id, uint32_t wire, sonde_seen* out) const {
  sonde_seen_key k{flow_id, wire};
  return seen_fd_ >= 0 && bpf_map_lookup_elem(seen_fd_, &k, out) == 0;
}

std::string BpfTracer::LoadXdpObject() {
  std::string path = opts_.object_dir + "/xdp_observe.bpf.o";
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj) return ErrText("opening " + path, errno);
  uint8_t xdp_events = opts_.xdp_events ? 1 : 0;
  bool ok = SetRodata(obj, "xdp_events", &xdp_events, 1) && SetRodata(obj, "local_netns", &opts_.local_netns, 4);
  // Share the drop tracer's maps: one flow table, one ring, one lost counter.
  for (const char* name : {"flows", "port_flows", "events", "lost", "seen"}) {
    bpf_map* mine = bpf_object__find_map_by_name(obj, name);
    bpf_map* theirs = bpf_object__find_map_by_name(drop_obj_, name);
    ok = ok && mine && theirs && bpf_map__reuse_fd(mine, bpf_map__fd(theirs)) == 0;
  }
  if (!ok) {
    bpf_object__close(obj);
    return "xdp_observe.bpf.o does not match drop.bpf.o (stale build?)";
  }
  int rc = bpf_object__load(obj);
  if (rc) {
    bpf_object__close(obj);
    return ErrText("loading xdp_observe.bpf.o", rc);
  }
  xdp_obj_ = obj;
  return "";
}

std::string BpfTracer::AttachXdp(int ifindex) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!running_) return "tracer is not running";
  if (xdp_links_.count(ifindex)) return "";
  if (!xdp_obj_) {
    std::string err = LoadXdpObject();
    if (!err.empty()) return err;
  }
  bpf_program* prog = bpf_object__find_program_by_name(xdp_obj_, "sonde_xdp_observe");
  if (!prog) return "xdp_observe.bpf.o lacks sonde_xdp_observe";
  // A bpf_link (not a netlink attach): it goes away with our fd, so a crash never leaves it behind.
  bpf_link* link = bpf_program__attach_xdp(prog, ifindex);
  if (!link) return ErrText("attaching XDP to ifindex " + std::to_string(ifindex), errno);
  xdp_links_[ifindex] = link;
  return "";
}

std::string BpfTracer::DetachXdp(int ifindex) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = xdp_links_.find(ifindex);
  if (it == xdp_links_.end()) return "no XDP observer on ifindex " + std::to_string(ifindex);
  bpf_link__destroy(it->second);
  xdp_links_.erase(it);
  return "";
}

std::vector<BpfProgStats> BpfTracer::ProgramStats() const {
  std::vector<BpfProgStats> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (bpf_object* obj : {drop_obj_, xdp_obj_}) {
    if (!obj) continue;
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
      int fd = bpf_program__fd(prog);
      if (fd < 0) continue;
      bpf_prog_info info{};
      __u32 len = sizeof info;
      if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) continue;
      out.push_back({bpf_program__name(prog), info.id, info.run_cnt, info.run_time_ns});
    }
  }
  return out;
}

uint64_t BpfTracer::EventsLost() const { return SumCounter(SONDE_LOST_RING); }

uint64_t BpfTracer::XdpMatched() const { return SumCounter(SONDE_CNT_XDP_MATCHED); }

uint64_t BpfTracer::SumCounter(uint32_t slot) const {
  if (lost_fd_ < 0) return 0;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return 0;
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
  __u32 key = slot;
  if (bpf_map_lookup_elem(lost_fd_, &key, per_cpu.data()) != 0) return 0;
  uint64_t sum = 0;
  for (uint64_t v : per_cpu) sum += v;
  return sum;
}

}  // namespace sonde
