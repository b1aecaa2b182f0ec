// N-API wrapper of the trace engine: `new TraceEngine(onBatch)`, `send(dsts, families, tags,
// ttls, flows, options)`. Outcomes reach JS in batches of typed arrays through a
// ThreadSafeFunction (never one object per packet); arguments are validated here.
#include <cstring>
#include <memory>
#include <vector>

#include "glue/batch_delivery.h"
#include "glue/glue.h"
#include "glue/args.h"
#include "trace/engine.h"

namespace {

using sonde::OptU32;
using sonde::TraceEngine;
using sonde::TraceOutcome;
using sonde::TraceSpec;

template <typename T>
const T* Typed(const Napi::Value& v, napi_typedarray_type type, size_t n, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type ||
      v.As<Napi::TypedArray>().ElementLength() != n) {
    throw Napi::TypeError::New(v.Env(), std::string("send: ") + what);
  }
  return reinterpret_cast<const T*>(static_cast<const uint8_t*>(v.As<Napi::TypedArray>().ArrayBuffer().Data()) +
                                    v.As<Napi::TypedArray>().ByteOffset());
}

class TraceEngineWrap : public Napi::ObjectWrap<TraceEngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TraceEngine",
                       {InstanceMethod("send", &TraceEngineWrap::Send), InstanceMethod("counters", &TraceEngineWrap::Counters),
                        InstanceMethod("ref", &TraceEngineWrap::Ref), InstanceMethod("unref", &TraceEngineWrap::Unref),
                        InstanceMethod("close", &TraceEngineWrap::Close)});
  }

  explicit TraceEngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TraceEngineWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "new TraceEngine(onBatch: function)");
    batches_.Start(env, info[0].As<Napi::Function>(), "sonde-trace", true);
    std::string error;
    engine_ = TraceEngine::Create(batches_.MakeSender(Deliver), &error);
    if (!engine_) {
      batches_.Release();
      sonde::ThrowWithCode(env, error, "ERR_SONDE_TRACE_SOCKET");
    }
  }

  ~TraceEngineWrap() override { Shutdown(); }

 private:
  static void Deliver(Napi::Env env, Napi::Function cb, std::vector<TraceOutcome>& batch) {
    size_t n = batch.size();
    auto tag = Napi::Uint32Array::New(env, n);
    auto kind = Napi::Uint8Array::New(env, n);
    auto code = Napi::Uint8Array::New(env, n);
    auto family = Napi::Uint8Array::New(env, n);
    auto qttl = Napi::Uint8Array::New(env, n);
    auto info = Napi::Uint32Array::New(env, n);
    auto rtt = Napi::Float64Array::New(env, n);
    auto from = Napi::Uint8Array::New(env, n * 16);
    auto key = Napi::Uint16Array::New(env, n);
    auto gen = Napi::Uint16Array::New(env, n);
    auto sent = Napi::Float64Array::New(env, n);
    for (size_t i = 0; i < n; i++) {
      const TraceOutcome& o = batch[i];
      tag[i] = o.tag;
      kind[i] = static_cast<uint8_t>(o.kind);
      code[i] = o.code;
      family[i] = o.family;
      qttl[i] = o.quoted_ttl;
      info[i] = o.info;
      rtt[i] = o.rtt;
      std::memcpy(from.Data() + i * 16, o.from, 16);
      key[i] = o.key;
      gen[i] = o.gen;
      sent[i] = static_cast<double>(o.sent_mono_ns) / 1e9;
    }
    Napi::Object b = Napi::Object::New(env);
    b.Set("length", Napi::Number::New(env, static_cast<double>(n)));
    b.Set("tag", tag);
    b.Set("kind", kind);
    b.Set("code", code);
    b.Set("family", family);
    b.Set("quotedTtl", qttl);
    b.Set("info", info);
    b.Set("rtt", rtt);
    b.Set("from", from);
    b.Set("key", key);
    b.Set("gen", gen);
    b.Set("sentMono", sent);
    cb.Call({b});
  }

  // send(dsts: Uint8Array(16n), families: Uint8Array(n), tags: Uint32Array(n), ttls: Uint8Array(n),
  //      flows: Uint16Array(n), options {proto, port, payloadSize, timeoutMs}): number
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) throw Napi::Error::New(env, "TraceEngine is closed");
    if (info.Length() != 6 || !info[2].IsTypedArray() || !info[5].IsObject()) {
      throw Napi::TypeError::New(env, "send(dsts, families, tags, ttls, flows, options)");
    }
    size_t n = info[2].As<Napi::TypedArray>().ElementLength();
    const uint8_t* dst = Typed<uint8_t>(info[0], napi_uint8_array, n * 16, "dsts must be a Uint8Array of 16 bytes per probe");
    const uint8_t* fam = Typed<uint8_t>(info[1], napi_uint8_array, n, "families must be a Uint8Array, one per probe");
    const uint32_t* tags = Typed<uint32_t>(info[2], napi_uint32_array, n, "tags must be a Uint32Array");
    const uint8_t* ttls = Typed<uint8_t>(info[3], napi_uint8_array, n, "ttls must be a Uint8Array, one per probe");
    const uint16_t* flows = Typed<uint16_t>(info[4], napi_uint16_array, n, "flows must be a Uint16Array, one per probe");
    Napi::Object o = info[5].As<Napi::Object>();
    uint32_t proto = OptU32(o, "proto", 1, 1, 17);
    if (proto != 1 && proto != 6 && proto != 17) throw Napi::RangeError::New(env, "options.proto must be 1 (ICMP), 6 (TCP) or 17 (UDP)");
    TraceSpec base;
    base.proto = static_cast<uint8_t>(proto);
    base.dport = static_cast<uint16_t>(OptU32(o, "port", 33434, 0, 65535));
    base.payload_len = static_cast<uint16_t>(OptU32(o, "payloadSize", 24, 0, 1400));
    base.timeout_ms = OptU32(o, "timeoutMs", 1000, 1, 3600000);
    specs_.resize(n);
    for (size_t i = 0; i < n; i++) {
      if (fam[i] != 4 && fam[i] != 6) throw Napi::RangeError::New(env, "send: families must be 4 or 6");
      if (ttls[i] == 0) throw Napi::RangeError::New(env, "send: ttls must be 1..255");
      if (proto != 1 && (flows[i] < sonde::kTraceFlowMin || flows[i] > sonde::kTraceFlowMax)) {
        throw Napi::RangeError::New(env, "send: UDP/TCP flows (source ports) must be in " + std::to_string(sonde::kTraceFlowMin) +
                                             ".." + std::to_string(sonde::kTraceFlowMax));
      }
      TraceSpec& s = specs_[i];
      s = base;
      s.family = fam[i];
      s.tag = tags[i];
      s.ttl = ttls[i];
      s.flow = flows[i];
      std::memcpy(s.dst, dst + i * 16, 16);
    }
    engine_->Submit(specs_.data(), n);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (!engine_) return o;
    sonde::TraceCounters c = engine_->Counters();
    auto num = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
    num("sent", c.sent);
    num("answered", c.answered);
    num("timeouts", c.timeouts);
    num("strays", c.strays);
    num("late", c.late);
    num("sendErrors", c.send_errors);
    return o;
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

  void Shutdown() {
    if (engine_) {
      engine_->Stop();  // joins the thread: no NonBlockingCall after this
      engine_.reset();
    }
    batches_.Release();
  }

  std::unique_ptr<TraceEngine> engine_;
  sonde::BatchDelivery<std::vector<TraceOutcome>> batches_;
  std::vector<TraceSpec> specs_;
};

}  // namespace

void InitTrace(Napi::Env env, Napi::Object exports) {
  exports.Set("TraceEngine", TraceEngineWrap::Define(env));
}
