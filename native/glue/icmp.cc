// N-API wrapper of the ICMP engine: `new IcmpEngine(options, onBatch)`. Outcomes reach JS in
// batches through a ThreadSafeFunction, as one ArrayBuffer of fixed-size records per batch (never
// one object per packet). Arguments are validated here and become TypeError/RangeError.
#include <cstring>
#include <memory>
#include <vector>

#include "glue/batch_delivery.h"
#include "glue/glue.h"
#include "glue/args.h"
#include "icmp/engine.h"

namespace {

using sonde::IcmpEngine;
using sonde::OptBool;
using sonde::OptU32;
using sonde::ProbeOutcome;
using sonde::ProbeSpec;

class IcmpEngineWrap : public Napi::ObjectWrap<IcmpEngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IcmpEngine",
                       {InstanceMethod("send", &IcmpEngineWrap::Send), InstanceMethod("counters", &IcmpEngineWrap::Counters),
                        InstanceMethod("ref", &IcmpEngineWrap::Ref), InstanceMethod("unref", &IcmpEngineWrap::Unref),
                        InstanceMethod("close", &IcmpEngineWrap::Close), InstanceMethod("setQos", &IcmpEngineWrap::SetQos),
                        InstanceAccessor("privileged", &IcmpEngineWrap::Privileged, nullptr),
                        InstanceAccessor("capacity", &IcmpEngineWrap::Capacity, nullptr)});
  }

  explicit IcmpEngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IcmpEngineWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "new IcmpEngine(options: object, onBatch: function)");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    sonde::EngineOptions opts;
    opts.capacity_log2 = OptU32(o, "capacityLog2", 16, 0, 20);
    opts.tx_timestamps = OptBool(o, "txTimestamps", true);
    opts.rate = OptU32(o, "rate", 0, 0, 100000000);
    opts.force_mode = static_cast<int>(OptU32(o, "mode", 0, 0, 2));
    opts.threads = OptU32(o, "threads", 0, 0, 64);
    opts.qos = sonde::OptQos(o);
    batches_.Start(env, info[1].As<Napi::Function>(), "sonde-icmp", true);
    std::string error;
    engine_ = IcmpEngine::Create(opts, batches_.MakeSender(Deliver), &error);
    if (!engine_) {
      batches_.Release();
      sonde::ThrowWithCode(env, error, "ERR_SONDE_ICMP_SOCKET");
    }
  }

  ~IcmpEngineWrap() override { Shutdown(); }

 private:
  // One ArrayBuffer per batch, kRecord bytes per outcome (src/native/icmp.ts reads it through one
  // Uint8Array, Uint32Array and Float64Array view): a batch costs one allocation, not one per field.
  //   u32 [0] tag  [1] info  [2] wire     u8 [12] kind [13] code [14] hop limit [15] family [16] flags
  //   f64 [3] rtt (byte 24)               u8 [32..47] from
  static constexpr size_t kRecord = 48;
  static void Deliver(Napi::Env env, Napi::Function cb, std::vector<ProbeOutcome>& batch) {
    size_t n = batch.size();
    auto buf = Napi::ArrayBuffer::New(env, n * kRecord);
    auto* base = static_cast<uint8_t*>(buf.Data());
    for (size_t i = 0; i < n; i++) {
      const ProbeOutcome& o = batch[i];
      uint8_t* r = base + i * kRecord;
      uint32_t words[3] = {o.tag, o.info, o.wire};
      std::memcpy(r, words, sizeof(words));
      r[12] = static_cast<uint8_t>(o.kind);
      r[13] = o.code;
      r[14] = o.hop_limit;
      r[15] = o.family;
      r[16] = o.flags;
      std::memset(r + 17, 0, 7);
      std::memcpy(r + 24, &o.rtt, sizeof(double));
      std::memcpy(r + 32, o.from, 16);
    }
    cb.Call({buf, Napi::Number::New(env, static_cast<double>(n))});
  }

  // send(addrs: Uint8Array(16n), families: Uint8Array(n), tags: Uint32Array(n), opts): number
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) throw Napi::Error::New(env, "IcmpEngine is closed");
    if (info.Length() != 4 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
        !info[3].IsObject()) {
      throw Napi::TypeError::New(env, "send(addrs: Uint8Array, families: Uint8Array, tags: Uint32Array, options: object)");
    }
    auto addrs = info[0].As<Napi::TypedArray>();
    auto fams = info[1].As<Napi::TypedArray>();
    auto tags = info[2].As<Napi::TypedArray>();
    if (addrs.TypedArrayType() != napi_uint8_array || fams.TypedArrayType() != napi_uint8_array ||
        tags.TypedArrayType() != napi_uint32_array) {
      throw Napi::TypeError::New(env, "send: addrs and families must be Uint8Array, tags Uint32Array");
    }
    size_t n = tags.ElementLength();
    if (fams.ElementLength() != n || addrs.ElementLength() != n * 16) {
      throw Napi::RangeError::New(env, "send: addrs must hold 16 bytes per tag and families one byte per tag");
    }
    Napi::Object o = info[3].As<Napi::Object>();
    ProbeSpec base;
    base.ttl = static_cast<uint8_t>(OptU32(o, "ttl", 0, 0, 255));
    base.df = OptBool(o, "df", false);
    base.payload_len = static_cast<uint16_t>(OptU32(o, "payloadSize", 56, 0, 8192));
    base.timeout_ms = OptU32(o, "timeoutMs", 1000, 0, 3600000);
    base.scope_id = OptU32(o, "scopeId", 0, 0, 0xffffffffu);
    base.qos = static_cast<uint8_t>(OptU32(o, "qos", sonde::kQosCritical, 0, sonde::kQosClasses - 1));
    Napi::Value src = o.Get("src");
    if (!src.IsUndefined()) {
      if (!src.IsTypedArray() || src.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
          src.As<Napi::Uint8Array>().ElementLength() != 16) {
        throw Napi::TypeError::New(env, "options.src must be a Uint8Array of 16 bytes");
      }
      base.has_src = true;
      std::memcpy(base.src, src.As<Napi::Uint8Array>().Data(), 16);
    }
    const uint8_t* a = addrs.As<Napi::Uint8Array>().Data();
    const uint8_t* f = fams.As<Napi::Uint8Array>().Data();
    const uint32_t* t = tags.As<Napi::Uint32Array>().Data();
    specs_.resize(n);
    for (size_t i = 0; i < n; i++) {
      if (f[i] != 4 && f[i] != 6) throw Napi::RangeError::New(env, "send: families must be 4 or 6");
      ProbeSpec& s = specs_[i];
      s = base;
      s.family = f[i];
      s.tag = t[i];
      std::memcpy(s.addr, a + i * 16, 16);
    }
    engine_->Submit(specs_.data(), n);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (!engine_) return o;
    sonde::EngineCounters c = engine_->Counters();
    auto num = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
    num("sent", c.sent);
    num("replies", c.replies);
    num("errors", c.errors);
    num("timeouts", c.timeouts);
    num("duplicates", c.duplicates);
    num("strays", c.strays);
    num("late", c.late);
    num("sendErrors", c.send_errors);
    num("txKernelTimestamps", c.tx_kernel_ts);
    num("rxKernelTimestamps", c.rx_kernel_ts);
    num("queued", c.queued);
    num("inFlight", c.in_flight);
    sonde::SetQosCounters(o, c.qos_started, c.qos_shed, c.qos_waiting, c.qos_held);
    return o;
  }

  // setQos({bestEffortShare, standardShare, queueBound}): new limits from each shard's next turn.
  Napi::Value SetQos(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sonde::QosLimits l = sonde::QosArg(info);
    if (engine_) engine_->SetQos(l);
    return env.Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    batches_.Ref(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    batches_.Unref(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }
  Napi::Value Privileged(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), engine_ ? engine_->privileged() : false);
  }
  Napi::Value Capacity(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), engine_ ? engine_->capacity() : 0);
  }

  void Shutdown() {
    if (engine_) {
      engine_->Stop();  // joins the thread: no NonBlockingCall after this
      engine_.reset();
    }
    batches_.Release();
  }

  std::unique_ptr<IcmpEngine> engine_;
  sonde::BatchDelivery<std::vector<ProbeOutcome>> batches_;
  std::vector<ProbeSpec> specs_;
};

}  // namespace

void InitIcmp(Napi::Env env, Napi::Object exports) {
  exports.Set("IcmpEngine", IcmpEngineWrap::Define(env));
}
