// N-API wrapper of the stream engine: `new StreamEngine(options, onBatch)`. Results reach JS in
// batches: one ThreadSafeFunction call per batch (the engine re-arms its notification only once
// JS has taken the previous batch), as one Float64Array of fixed-stride records plus one Buffer
// of raw response heads. The engine holds a ref on the event loop only while probes are pending.
#include <cstring>
#include <memory>

#include "glue/batch_delivery.h"
#include "glue/glue.h"
#include "gateway/render.h"
#include "stream/engine.h"

namespace {

using sonde::StreamBatch;
using sonde::StreamEngine;
using sonde::StreamOutcome;
using sonde::StreamSpec;

// Record layout (doubles), mirrored by src/native/stream.ts.
constexpr size_t kStride = 16;

void WriteRecord(double* r, const StreamOutcome& o) {
  sonde::OutcomeSeconds secs = sonde::PhaseSeconds(o);
  r[0] = o.id;
  r[1] = o.err;
  r[2] = static_cast<double>(o.phase);
  r[3] = o.parse_error;
  r[4] = o.status;
  r[5] = o.version_minor == 255 ? -1 : o.version_minor;
  r[6] = static_cast<double>(o.content_length);
  r[7] = static_cast<double>(o.body_bytes);
  r[8] = secs.connect;
  r[9] = secs.processing;
  r[10] = secs.transfer;
  r[11] = secs.total;
  r[12] = o.local_port;
  r[13] = o.head_off;
  r[14] = o.head_len;
  r[15] = secs.write;
}

// Shared between the JS object, the engine thread's notification and queued TSFN calls, so that
// a call still queued after close() finds a closed engine rather than freed memory.
struct Shared : std::enable_shared_from_this<Shared> {
  std::unique_ptr<StreamEngine> engine;
  sonde::JsCallback js;
  bool refed = false;
  bool listening = false;  // JS thread only: the gateway's listener keeps the process alive
  uint64_t in_flight = 0;  // JS thread only
  StreamBatch batch;       // JS thread only

  void Deliver(Napi::Env env, Napi::Function cb) {
    if (!engine || env == nullptr) return;
    engine->Take(&batch);
    size_t n = batch.outcomes.size();
    if (batch.empty()) return;
    auto records = Napi::Float64Array::New(env, n * kStride);
    double* r = records.Data();
    for (size_t i = 0; i < n; i++) WriteRecord(r + i * kStride, batch.outcomes[i]);
    auto heads = Napi::Buffer<char>::Copy(env, batch.heads.data(), batch.heads.size());
    in_flight = in_flight > n ? in_flight - n : 0;
    if (in_flight == 0 && refed && !listening && !js.released()) {
      js.Unref(env);  // idle: let the process exit
      refed = false;
    }
    auto handoffs = Napi::Array::New(env, batch.handoffs.size());
    for (size_t i = 0; i < batch.handoffs.size(); i++) handoffs.Set(i, Napi::Number::New(env, batch.handoffs[i]));
    auto asks = Napi::Array::New(env, batch.asks.size());
    for (size_t i = 0; i < batch.asks.size(); i++) {
      const sonde::GatewayAsk& a = batch.asks[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("conn", Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(a.token))));
      o.Set("gen", Napi::Number::New(env, static_cast<double>(a.token >> 32)));
      o.Set("module", a.module);
      o.Set("target", a.target);
      o.Set("timeoutSeconds", a.timeout_s);
      asks.Set(i, o);
    }
    cb.Call({records, heads, Napi::Number::New(env, static_cast<double>(n)), handoffs, asks});
  }

  void Shutdown() {
    if (engine) engine->Stop();  // joins the thread: no notification after this
    engine.reset();
    js.Release();
  }
};

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t max) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("submit: ") + name + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string("submit: ") + name + " must be an integer in 0.." + std::to_string(max));
  }
  return static_cast<uint32_t>(d);
}

const uint8_t* ArgAddr(const Napi::CallbackInfo& info, size_t i, const char* name, bool optional) {
  Napi::Value v = info[i];
  if (optional && (v.IsUndefined() || v.IsNull())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      v.As<Napi::Uint8Array>().ElementLength() != 16) {
    throw Napi::TypeError::New(info.Env(), std::string("submit: ") + name + " must be a Uint8Array of 16 bytes");
  }
  return v.As<Napi::Uint8Array>().Data();
}

class StreamEngineWrap : public Napi::ObjectWrap<StreamEngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "StreamEngine",
                       {InstanceMethod("submit", &StreamEngineWrap::Submit),
                        InstanceMethod("counters", &StreamEngineWrap::Counters),
                        InstanceMethod("listen", &StreamEngineWrap::Listen),
                        InstanceMethod("setGatewayModules", &StreamEngineWrap::SetGatewayModules),
                        InstanceMethod("answer", &StreamEngineWrap::Answer),
                        InstanceMethod("close", &StreamEngineWrap::Close),
                        InstanceAccessor("capacity", &StreamEngineWrap::Capacity, nullptr)});
  }

  explicit StreamEngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StreamEngineWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "new StreamEngine(options: object, onBatch: function)");
    }
    sonde::StreamEngineOptions opts;
    Napi::Value cap = info[0].As<Napi::Object>().Get("capacity");
    if (!cap.IsUndefined()) {
      double d = cap.IsNumber() ? cap.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= 1 && d <= 1 << 20) || d != static_cast<double>(static_cast<uint32_t>(d))) {
        throw Napi::RangeError::New(env, "options.capacity must be an integer in 1..1048576");
      }
      opts.capacity = static_cast<uint32_t>(d);
    }
    shared_ = std::make_shared<Shared>();
    shared_->js.Start(env, info[1].As<Napi::Function>(), "sonde-stream", false);
    Shared* raw = shared_.get();
    std::string error;
    shared_->engine = StreamEngine::Create(
        opts,
        [raw] {
          std::shared_ptr<Shared> keep = raw->shared_from_this();
          raw->js.tsfn().NonBlockingCall([keep](Napi::Env env, Napi::Function cb) { keep->Deliver(env, cb); });
        },
        &error);
    if (!shared_->engine) {
      shared_->Shutdown();
      throw Napi::Error::New(env, error);
    }
  }

  ~StreamEngineWrap() override { shared_->Shutdown(); }

 private:
  // submit(id, family, addr, port, timeoutMs, flags, request, bodyLimit, headerCap, src, scopeId[, srcPort])
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!shared_->engine) throw Napi::Error::New(env, "StreamEngine is closed");
    if (info.Length() != 11 && info.Length() != 12) {
      throw Napi::TypeError::New(env, "submit(id, family, addr, port, timeoutMs, flags, request, bodyLimit, headerCap, src, scopeId[, srcPort])");
    }
    StreamSpec s;
    s.id = ArgU32(info, 0, "id", 0xffffffffu);
    uint32_t family = ArgU32(info, 1, "family", 6);
    if (family != 4 && family != 6) throw Napi::RangeError::New(env, "submit: family must be 4 or 6");
    s.family = static_cast<uint8_t>(family);
    std::memcpy(s.addr, ArgAddr(info, 2, "addr", false), 16);
    s.port = static_cast<uint16_t>(ArgU32(info, 3, "port", 65535));
    s.timeout_ms = ArgU32(info, 4, "timeoutMs", 3600000);
    s.flags = ArgU32(info, 5, "flags", 7);
    const uint8_t* req = nullptr;
    if (!info[6].IsUndefined() && !info[6].IsNull()) {
      if (!info[6].IsBuffer()) throw Napi::TypeError::New(env, "submit: request must be a Buffer");
      auto b = info[6].As<Napi::Buffer<uint8_t>>();
      if (b.Length() > (1u << 20)) throw Napi::RangeError::New(env, "submit: request must be at most 1 MiB");
      req = b.Data();
      s.request_len = static_cast<uint32_t>(b.Length());
    }
    if ((s.flags & sonde::kStreamHttp) && s.request_len == 0) {
      throw Napi::RangeError::New(env, "submit: an HTTP probe needs request bytes");
    }
    Napi::Value limit = info[7];
    double bl = limit.IsNumber() ? limit.As<Napi::Number>().DoubleValue() : -1;
    if (!(bl >= 0 && bl <= 9007199254740991.0) || bl != static_cast<double>(static_cast<uint64_t>(bl))) {
      throw Napi::RangeError::New(env, "submit: bodyLimit must be a non-negative integer");
    }
    s.body_limit = static_cast<uint64_t>(bl);
    s.header_cap = ArgU32(info, 8, "headerCap", 65536);
    const uint8_t* src = ArgAddr(info, 9, "src", true);
    if (src) {
      s.has_src = true;
      std::memcpy(s.src, src, 16);
    }
    s.scope_id = ArgU32(info, 10, "scopeId", 0xffffffffu);
    if (info.Length() == 12) s.src_port = static_cast<uint16_t>(ArgU32(info, 11, "srcPort", 65535));
    if (!shared_->engine->Submit(s, req)) throw Napi::Error::New(env, "StreamEngine is closed");
    if (shared_->in_flight++ == 0 && !shared_->refed) {
      shared_->js.Ref(env);  // pending probes keep the process alive until their results arrive
      shared_->refed = true;
    }
    return env.Undefined();
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (!shared_->engine) return o;
    sonde::StreamCounters c = shared_->engine->Counters();
    auto num = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
    num("submitted", c.submitted);
    num("completed", c.completed);
    num("timeouts", c.timeouts);
    num("refused", c.refused);
    num("errors", c.errors);
    num("active", c.active);
    num("draining", c.draining);
    num("gatewayAnswered", c.gateway_answered);
    num("gatewayAsked", c.gateway_asked);
    num("gatewayHandoffs", c.gateway_handoffs);
    return o;
  }

  // listen(family, addr, port, reusePort): the gateway's listener; returns the bound port.
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!shared_->engine) throw Napi::Error::New(env, "StreamEngine is closed");
    if (info.Length() != 4 || !info[3].IsBoolean()) throw Napi::TypeError::New(env, "listen(family, addr, port, reusePort: boolean)");
    uint32_t family = ArgU32(info, 0, "family", 6);
    if (family != 4 && family != 6) throw Napi::RangeError::New(env, "listen: family must be 4 or 6");
    const uint8_t* addr = ArgAddr(info, 1, "addr", false);
    uint16_t port = static_cast<uint16_t>(ArgU32(info, 2, "port", 65535));
    int r = shared_->engine->Listen(static_cast<uint8_t>(family), addr, port, info[3].As<Napi::Boolean>().Value());
    if (r < 0) {
      Napi::Error e = Napi::Error::New(env, std::string("listen: ") + std::strerror(-r));
      e.Set("errno", Napi::Number::New(env, -r));
      throw e;
    }
    if (!shared_->refed) {
      shared_->js.Ref(env);
      shared_->refed = true;
    }
    shared_->listening = true;
    return Napi::Number::New(env, r);
  }

  static std::string Str(Napi::Object o, const char* key) {
    Napi::Value v = o.Get(key);
    if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("setGatewayModules: ") + key + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  static double Num(Napi::Object o, const char* key) {
    Napi::Value v = o.Get(key);
    if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("setGatewayModules: ") + key + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  static bool Bool(Napi::Object o, const char* key) { return o.Get(key).ToBoolean().Value(); }

  // setGatewayModules(modules, errnoReasons): see src/api/gateway.ts for the shapes.
  Napi::Value SetGatewayModules(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!shared_->engine) throw Napi::Error::New(env, "StreamEngine is closed");
    if (info.Length() != 2 || !info[0].IsArray() || !info[1].IsArray()) {
      throw Napi::TypeError::New(env, "setGatewayModules(modules: object[], errnoReasons: [number, string][])");
    }
    auto t = std::make_shared<sonde::GatewayTables>();
    Napi::Array mods = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < mods.Length(); i++) {
      Napi::Object o = mods.Get(i).As<Napi::Object>();
      sonde::GatewayModule m;
      m.name = Str(o, "name");
      std::string kind = Str(o, "kind");
      if (kind != "tcp" && kind != "http") throw Napi::RangeError::New(env, "setGatewayModules: kind must be tcp or http");
      m.kind = kind == "tcp" ? sonde::GatewayKind::kTcp : sonde::GatewayKind::kHttp;
      m.timeout_s = Num(o, "timeout");
      m.preferred = Num(o, "preferred") == 4 ? 4 : 6;
      m.fallback = Bool(o, "fallback");
      m.reset_on_close = Bool(o, "resetOnClose");
      if (m.kind == sonde::GatewayKind::kHttp) {
        m.method = Str(o, "method");
        m.header_lines = Str(o, "headerLines");
        Napi::Array codes = o.Get("validStatus").As<Napi::Array>();
        for (uint32_t j = 0; j < codes.Length(); j++) m.valid_status.push_back(static_cast<uint16_t>(codes.Get(j).As<Napi::Number>().Uint32Value()));
        Napi::Array versions = o.Get("validVersions").As<Napi::Array>();
        for (uint32_t j = 0; j < versions.Length(); j++) m.valid_versions.push_back(versions.Get(j).As<Napi::String>().Utf8Value());
        m.follow_redirects = Bool(o, "followRedirects");
        m.transparent_gzip = Bool(o, "transparentGzip");
        m.body_limit = static_cast<uint64_t>(Num(o, "bodyLimit"));
      }
      t->modules.push_back(std::move(m));
    }
    Napi::Array reasons = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < reasons.Length(); i++) {
      Napi::Array pair = reasons.Get(i).As<Napi::Array>();
      t->errno_reasons.emplace_back(pair.Get(0u).As<Napi::Number>().Int32Value(), pair.Get(1u).As<Napi::String>().Utf8Value());
    }
    shared_->engine->SetGatewayTables(std::move(t));
    return env.Undefined();
  }

  // answer(conn, gen, status, contentType, body): the reply to a gateway ask.
  Napi::Value Answer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!shared_->engine) return env.Undefined();
    if (info.Length() != 5 || !info[3].IsString() || !info[4].IsString()) {
      throw Napi::TypeError::New(env, "answer(conn, gen, status, contentType: string, body: string)");
    }
    uint64_t token = (static_cast<uint64_t>(ArgU32(info, 1, "gen", 0xffffffffu)) << 32) | ArgU32(info, 0, "conn", 0xffffffffu);
    int status = static_cast<int>(ArgU32(info, 2, "status", 599));
    shared_->engine->Answer(token, status, info[3].As<Napi::String>().Utf8Value(), info[4].As<Napi::String>().Utf8Value());
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    shared_->Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Capacity(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), shared_->engine ? shared_->engine->capacity() : 0);
  }

  std::shared_ptr<Shared> shared_;
};

}  // namespace

void InitStream(Napi::Env env, Napi::Object exports) { exports.Set("StreamEngine", StreamEngineWrap::Define(env)); }
