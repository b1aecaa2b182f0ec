// N-API surface of the eBPF tracer (bpf/loader.h does the work). Events reach JS in batches through a
// ThreadSafeFunction; arguments are validated here and become TypeError/RangeError.
#include <arpa/inet.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "glue/batch_delivery.h"
#include "bpf/loader.h"
#include "glue/glue.h"
#include "glue/args.h"

namespace {

struct Batch {
  std::vector<sonde_event> events;
  uint64_t drained;
};

std::string AddrText(uint8_t family, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (family == 2 || family == 10) inet_ntop(family == 2 ? AF_INET : AF_INET6, a, buf, sizeof buf);
  return buf;
}

const char* DirectionText(uint8_t d) {
  return d == SONDE_DIR_INGRESS ? "ingress" : d == SONDE_DIR_EGRESS ? "egress" : "unknown";
}

Napi::Object EventObject(Napi::Env env, const sonde_event& e) {
  Napi::Object o = Napi::Object::New(env);
  bool drop = e.kind == SONDE_EV_DROP;
  o.Set("kind", drop ? "drop" : "xdp");
  o.Set("time", static_cast<double>(e.ts_ns) / 1e9);
  o.Set("flowId", e.flow_id);
  if (drop) {
    o.Set("reasonCode", e.reason);
    o.Set("reason", sonde::DropReasonName(e.reason));
    o.Set("location", sonde::KernelSymbol(e.location));
  }
  o.Set("direction", DirectionText(e.direction));
  o.Set("ifindex", e.ifindex);
  o.Set("netns", e.netns);
  o.Set("family", e.family == 2 ? 4 : e.family == 10 ? 6 : 0);
  o.Set("proto", e.proto);
  o.Set("saddr", AddrText(e.family, e.saddr));
  o.Set("daddr", AddrText(e.family, e.daddr));
  o.Set("sport", e.sport);
  o.Set("dport", e.dport);
  if (e.proto == 1 || e.proto == 58) {
    o.Set("icmpType", e.icmp_type);
    o.Set("icmpSeq", e.icmp_seq);
  }
  if (e.proto == 6) o.Set("tcpFlags", e.tcp_flags);
  o.Set("wireTag", e.wire_tag);
  o.Set("len", e.len);
  return o;
}

uint32_t U32(const Napi::Value& v, const char* what, uint32_t max = UINT32_MAX) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d > max || d != static_cast<double>(static_cast<uint64_t>(d))) {
    throw Napi::RangeError::New(v.Env(), std::string(what) + " must be an integer in 0.." + std::to_string(max));
  }
  return static_cast<uint32_t>(d);
}

// (proto, local, localPort, remote, remotePort): local '' and remote '' make a wildcard key on proto +
// localPort; local '' alone a remote key on (family, proto, remote, remotePort).
sonde_flow_key FlowKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[1].IsString() || !info[3].IsString()) {
    throw Napi::TypeError::New(env, "flow: (proto: number, local: string, localPort: number, remote: string, remotePort: number)");
  }
  sonde_flow_key k{};
  k.proto = static_cast<uint8_t>(U32(info[0], "proto", 255));
  k.local_port = static_cast<uint16_t>(U32(info[2], "localPort", 65535));
  std::string local = info[1].As<Napi::String>().Utf8Value();
  std::string remote = info[3].As<Napi::String>().Utf8Value();
  if (local.empty() && remote.empty()) return k;  // wildcard: family 0, addresses and remote port zero
  k.remote_port = static_cast<uint16_t>(U32(info[4], "remotePort", 65535));
  bool v6 = remote.find(':') != std::string::npos;
  k.family = v6 ? 10 : 2;
  if (local.empty()) k.local_port = 0;  // remote key: the local side is not known yet
  if ((!local.empty() && inet_pton(v6 ? AF_INET6 : AF_INET, local.c_str(), k.local) != 1) ||
      inet_pton(v6 ? AF_INET6 : AF_INET, remote.c_str(), k.remote) != 1) {
    throw Napi::TypeError::New(env, "flow addresses must be IP addresses of one family: " + local + ", " + remote);
  }
  return k;
}

class BpfTracerWrap : public Napi::ObjectWrap<BpfTracerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfTracer",
                       {InstanceMethod("addFlow", &BpfTracerWrap::AddFlow),
                        InstanceMethod("removeFlow", &BpfTracerWrap::RemoveFlow),
                        InstanceMethod("flowState", &BpfTracerWrap::FlowState),
                        InstanceMethod("portFlows", &BpfTracerWrap::PortFlows),
                        InstanceMethod("portFlowsBytes", &BpfTracerWrap::PortFlowsBytes),
                        InstanceMethod("seen", &BpfTracerWrap::Seen),
                        InstanceMethod("attachXdp", &BpfTracerWrap::AttachXdp),
                        InstanceMethod("detachXdp", &BpfTracerWrap::DetachXdp),
                        InstanceMethod("requestDrain", &BpfTracerWrap::RequestDrain),
                        InstanceMethod("stats", &BpfTracerWrap::Stats),
                        InstanceMethod("stop", &BpfTracerWrap::Stop)});
  }

  // new BpfTracer({objectDir, reportAll, localNetns, maxFlows, ringBytes, maxSeen, xdpEvents, runStats}, onEvents)
  explicit BpfTracerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfTracerWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "new BpfTracer(options: object, onEvents: function)");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    if (!o.Get("objectDir").IsString()) throw Napi::TypeError::New(env, "options.objectDir must be a string");
    sonde::BpfOptions opts;
    opts.object_dir = o.Get("objectDir").As<Napi::String>().Utf8Value();
    opts.report_all = o.Get("reportAll").ToBoolean();
    opts.local_netns = U32(o.Get("localNetns"), "options.localNetns");
    opts.max_flows = U32(o.Get("maxFlows"), "options.maxFlows", 1u << 24);
    opts.ring_bytes = U32(o.Get("ringBytes"), "options.ringBytes", 1u << 30);
    opts.max_seen = U32(o.Get("maxSeen"), "options.maxSeen", 1u << 24);
    opts.xdp_events = o.Get("xdpEvents").ToBoolean();
    opts.run_stats = o.Get("runStats").ToBoolean();
    // The tracer alone must not keep the process alive.
    events_.Start(env, info[1].As<Napi::Function>(), "sonde-bpf-events", false);
    auto send = events_.MakeSender(DeliverEvents);
    std::string err = tracer_.Start(opts, [send](std::vector<sonde_event>&& evs, uint64_t drained) {
      send(Batch{std::move(evs), drained});
    });
    if (!err.empty()) {
      events_.Release();
      sonde::ThrowWithCode(env, err, "EBPF_UNAVAILABLE");
    }
  }

  ~BpfTracerWrap() override { Shutdown(); }

 private:
  static void DeliverEvents(Napi::Env env, Napi::Function cb, Batch& b) {
    Napi::Array arr = Napi::Array::New(env, b.events.size());
    for (size_t i = 0; i < b.events.size(); i++) arr.Set(static_cast<uint32_t>(i), EventObject(env, b.events[i]));
    cb.Call({arr, Napi::Number::New(env, static_cast<double>(b.drained))});
  }

  void Shutdown() {
    tracer_.Stop();  // joins the poll thread: nothing is posted after this
    events_.Release();
  }

  Napi::Value AddFlow(const Napi::CallbackInfo& info) {
    sonde_flow_key k = FlowKey(info);
    uint32_t id = U32(info[5], "flowId");
    return Napi::Number::New(info.Env(), tracer_.AddFlow(k, id));
  }

  Napi::Value RemoveFlow(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), tracer_.RemoveFlow(FlowKey(info)));
  }

  Napi::Value FlowState(const Napi::CallbackInfo& info) {
    sonde_flow_state st{};
    if (!tracer_.FlowState(FlowKey(info), &st)) return info.Env().Null();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("flowId", st.flow_id);
    o.Set("xdpPackets", static_cast<double>(st.xdp_packets));
    o.Set("xdpLastTime", static_cast<double>(st.xdp_last_ns) / 1e9);
    o.Set("drops", static_cast<double>(st.drops));
    return o;
  }

  // portFlowsBytes(): the size of the `port_flows` array (SONDE_PORT_FLOWS_SLOTS struct
  // sonde_flow_state), 0 when it cannot be mapped (the tracer is not running).
  Napi::Value PortFlowsBytes(const Napi::CallbackInfo& info) {
    size_t len = sizeof(sonde_flow_state) * SONDE_PORT_FLOWS_SLOTS;
    return Napi::Number::New(info.Env(), tracer_.port_flows_fd() < 0 ? 0 : static_cast<double>(len));
  }

  // portFlows(offset, length): bytes [offset, offset + length) of the `port_flows` array mapped into
  // this process (both page-aligned), or null. The kernel maps every page of a BPF array at mmap
  // (remap_vmalloc_range), so each page mapped is resident: callers map windows as ports are used
  // rather than the whole 4 MiB. The mapping is the ArrayBuffer's own (unmapped when it is
  // collected), so it stays valid after stop(); it also keeps the map alive until then.
  Napi::Value PortFlows(const Napi::CallbackInfo& info) {
    if (info.Length() != 2) throw Napi::TypeError::New(info.Env(), "portFlows(offset: number, length: number)");
    size_t total = sizeof(sonde_flow_state) * SONDE_PORT_FLOWS_SLOTS;
    size_t off = U32(info[0], "offset", static_cast<uint32_t>(total));
    size_t len = U32(info[1], "length", static_cast<uint32_t>(total));
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    if (len == 0 || off % page != 0 || len % page != 0 || off + len > total) {
      throw Napi::RangeError::New(info.Env(), "portFlows: offset and length must be page-aligned and within the array");
    }
    int fd = tracer_.port_flows_fd();
    if (fd < 0) return info.Env().Null();
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(off));
    if (p == MAP_FAILED) return info.Env().Null();
    return Napi::ArrayBuffer::New(info.Env(), p, len, [len](Napi::Env, void* data) { munmap(data, len); });
  }

  // seen(flowId, wire): what XDP recorded of one probe's replies, or null.
  Napi::Value Seen(const Napi::CallbackInfo& info) {
    if (info.Length() != 2) throw Napi::TypeError::New(info.Env(), "seen(flowId: number, wire: number)");
    sonde_seen s{};
    if (!tracer_.Seen(U32(info[0], "flowId"), U32(info[1], "wire"), &s)) return info.Env().Null();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("firstTime", static_cast<double>(s.first_ns) / 1e9);
    o.Set("lastTime", static_cast<double>(s.last_ns) / 1e9);
    o.Set("packets", static_cast<double>(s.packets));
    return o;
  }

  Napi::Value AttachXdp(const Napi::CallbackInfo& info) {
    std::string err = tracer_.AttachXdp(static_cast<int>(U32(info[0], "ifindex", INT32_MAX)));
    if (!err.empty()) throw Napi::Error::New(info.Env(), err);
    return info.Env().Undefined();
  }

  Napi::Value DetachXdp(const Napi::CallbackInfo& info) {
    std::string err = tracer_.DetachXdp(static_cast<int>(U32(info[0], "ifindex", INT32_MAX)));
    if (!err.empty()) throw Napi::Error::New(info.Env(), err);
    return info.Env().Undefined();
  }

  Napi::Value RequestDrain(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(tracer_.RequestDrain()));
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    auto progs = tracer_.ProgramStats();
    Napi::Array arr = Napi::Array::New(env, progs.size());
    for (size_t i = 0; i < progs.size(); i++) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("name", progs[i].name);
      p.Set("id", progs[i].id);
      p.Set("runCnt", static_cast<double>(progs[i].run_cnt));
      p.Set("runTimeNs", static_cast<double>(progs[i].run_time_ns));
      arr.Set(static_cast<uint32_t>(i), p);
    }
    o.Set("programs", arr);
    o.Set("eventsLost", static_cast<double>(tracer_.EventsLost()));
    o.Set("xdpMatched", static_cast<double>(tracer_.XdpMatched()));
    return o;
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  sonde::BpfTracer tracer_;
  sonde::BatchDelivery<Batch> events_;
};

Napi::Value ReasonNames(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  for (const auto& [code, name] : sonde::DropReasonNames()) o.Set(code, name);
  return o;
}

Napi::Value KernelSymbolJs(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsBigInt()) throw Napi::TypeError::New(info.Env(), "bpfKernelSymbol(addr: bigint)");
  bool lossless = false;
  uint64_t addr = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  return Napi::String::New(info.Env(), sonde::KernelSymbol(addr));
}

Napi::Value SelfNetns(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), sonde::SelfNetnsInode());
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("BpfTracer", BpfTracerWrap::Define(env));
  exports.Set("bpfReasonNames", Napi::Function::New(env, ReasonNames, "bpfReasonNames"));
  exports.Set("bpfKernelSymbol", Napi::Function::New(env, KernelSymbolJs, "bpfKernelSymbol"));
  exports.Set("bpfSelfNetns", Napi::Function::New(env, SelfNetns, "bpfSelfNetns"));
}
