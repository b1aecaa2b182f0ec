// N-API wrapper of the stream engine: `new StreamEngine(options, onBatch)`. Results reach JS in
// batches: one ThreadSafeFunction call per batch (the engine re-arms its notification only once
// JS has taken the previous batch), as one Float64Array of fixed-stride records plus one Buffer
// of raw response heads, plus the gateway's handoffs and /probe requests (asks). The engine holds a
// ref on the event loop only while probes are pending or the gateway listens.
#include <cstring>
#include <memory>

#include "glue/args.h"
#include "glue/batch_delivery.h"
#include "glue/glue.h"
#include "stream/engine.h"

namespace {

using sonde::StreamBatch;
using sonde::StreamEngine;
using sonde::StreamOutcome;
using sonde::StreamSpec;

// Marks the JS objects of this class (shareListener takes one).
const napi_type_tag kTypeTag = {0x5f0de57a3e1b4c21ULL, 0x9d2a7c6e0b8f4113ULL};

// Record layout (doubles), mirrored by src/native/stream.ts.
constexpr size_t kStride = 17;

// Phase seconds of an outcome as blackbox_exporter names them.
struct OutcomeSeconds {
  double connect, processing, transfer, total, write;
};

OutcomeSeconds PhaseSeconds(const StreamOutcome& o) {
  auto sec = [](int64_t from, int64_t to) { return from != 0 && to >= from ? static_cast<double>(to - from) / 1e9 : 0.0; };
  OutcomeSeconds s{};
  // connect ends at the handshake (or the failure), processing runs from connected to the first
  // response byte, transfer from there to the end.
  s.connect = sec(o.t_start, o.t_connected ? o.t_connected : o.t_done);
  s.processing = o.t_connected ? sec(o.t_connected, o.t_first_byte ? o.t_first_byte : (o.t_written ? o.t_done : 0)) : 0;
  s.transfer = sec(o.t_first_byte, o.t_done);
  s.total = sec(o.t_start, o.t_done);
  s.write = sec(o.t_connected, o.t_written);
  return s;
}

void WriteRecord(double* r, const StreamOutcome& o) {
  OutcomeSeconds secs = PhaseSeconds(o);
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
  r[16] = o.foreign;
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
  std::string text;        // JS thread only: the asks' strings of a batch
  std::vector<sonde::GatewayAnswer> answers;  // JS thread only

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
    // Asks: conn, gen and a flag per ask (1: simple) in one array, and their strings in one
    // latin1 string, NUL-separated (none holds a NUL: gateway/request_head.cc): module, target and
    // timeout for a simple ask, query and timeout for the others. Two values cross per batch
    // rather than an object per request.
    size_t na = batch.asks.size();
    Napi::Value ask_meta = env.Null(), ask_text = env.Null();
    if (na > 0) {
      auto meta = Napi::Float64Array::New(env, na * 3);
      text.clear();
      for (size_t i = 0; i < na; i++) {
        const sonde::GatewayAsk& a = batch.asks[i];
        meta[i * 3] = static_cast<double>(static_cast<uint32_t>(a.token));
        meta[i * 3 + 1] = static_cast<double>(a.token >> 32);
        meta[i * 3 + 2] = a.simple ? 1 : 0;
        if (i > 0) text.push_back('\0');
        if (a.simple) text.append(a.module).append(1, '\0').append(a.target);
        else text.append(a.query);
        text.append(1, '\0').append(a.scrape_timeout).append(1, '\0').append(a.peer);
      }
      napi_value str;
      if (napi_create_string_latin1(env, text.data(), text.size(), &str) != napi_ok) throw Napi::Error::New(env, "stream: asks string");
      ask_meta = meta;
      ask_text = Napi::Value(env, str);
    }
    // Asks whose client left: conn, gen per ask.
    Napi::Value gone = env.Null();
    if (!batch.gone.empty()) {
      auto g = Napi::Float64Array::New(env, batch.gone.size() * 2);
      for (size_t i = 0; i < batch.gone.size(); i++) {
        g[i * 2] = static_cast<double>(static_cast<uint32_t>(batch.gone[i]));
        g[i * 2 + 1] = static_cast<double>(batch.gone[i] >> 32);
      }
      gone = g;
    }
    cb.Call({records, heads, Napi::Number::New(env, static_cast<double>(n)), handoffs, ask_meta, ask_text, gone});
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
                        InstanceMethod("shareListener", &StreamEngineWrap::ShareListener),
                        InstanceMethod("answer", &StreamEngineWrap::Answer),
                        InstanceMethod("flush", &StreamEngineWrap::Flush),
                        InstanceMethod("cancel", &StreamEngineWrap::Cancel),
                        InstanceMethod("close", &StreamEngineWrap::Close),
                        InstanceMethod("setQos", &StreamEngineWrap::SetQos),
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
    opts.qos = sonde::OptQos(info[0].As<Napi::Object>());
    napi_type_tag_object(env, info.This(), &kTypeTag);  // shareListener knows its argument by this
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
  // submit(id, family, addr, port, timeoutMs, flags, request, bodyLimit, headerCap, src, scopeId[, srcPort[, qos[, matchLen]]])
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!shared_->engine) throw Napi::Error::New(env, "StreamEngine is closed");
    if (info.Length() < 11 || info.Length() > 14) {
      throw Napi::TypeError::New(env, "submit(id, family, addr, port, timeoutMs, flags, request, bodyLimit, headerCap, src, scopeId[, srcPort[, qos[, matchLen]]])");
    }
    StreamSpec s;
    s.id = ArgU32(info, 0, "id", 0xffffffffu);
    uint32_t family = ArgU32(info, 1, "family", 6);
    if (family != 4 && family != 6) throw Napi::RangeError::New(env, "submit: family must be 4 or 6");
    s.family = static_cast<uint8_t>(family);
    std::memcpy(s.addr, ArgAddr(info, 2, "addr", false), 16);
    s.port = static_cast<uint16_t>(ArgU32(info, 3, "port", 65535));
    s.timeout_ms = ArgU32(info, 4, "timeoutMs", 3600000);
    s.flags = ArgU32(info, 5, "flags", sonde::kStreamFlagsMask);
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
    if (s.flags & sonde::kStreamDatagram) {
      if (s.flags & sonde::kStreamHttp) throw Napi::RangeError::New(env, "submit: a datagram exchange is not an HTTP probe");
      if (s.request_len == 0 || s.request_len > 65507) throw Napi::RangeError::New(env, "submit: a datagram needs 1 to 65507 request bytes");
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
    if (info.Length() >= 12) s.src_port = static_cast<uint16_t>(ArgU32(info, 11, "srcPort", 65535));
    if (info.Length() >= 13) s.qos = static_cast<uint8_t>(ArgU32(info, 12, "qos", sonde::kQosClasses - 1));
    if (info.Length() == 14) s.match_len = static_cast<uint8_t>(ArgU32(info, 13, "matchLen", 255));
    // The engine's thread is woken by flush(), once for the submissions of a JS turn.
    if (!shared_->engine->Submit(s, req, true)) throw Napi::Error::New(env, "StreamEngine is closed");
    if (shared_->in_flight++ == 0 && !shared_->refed) {
      shared_->js.Ref(env);  // pending probes keep the process alive until their results arrive
      shared_->refed = true;
    }
    return env.Undefined();
  }

  // cancel(ids: Uint32Array): ends these probes with ECANCELED (their results still arrive).
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      throw Napi::TypeError::New(env, "cancel(ids: Uint32Array)");
    }
    Napi::Uint32Array ids = info[0].As<Napi::Uint32Array>();
    if (shared_->engine && ids.ElementLength() > 0) shared_->engine->Cancel(ids.Data(), ids.ElementLength());
    return env.Undefined();
  }

  // flush(): wakes the engine's thread for the submissions made since the last flush.
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    if (shared_->engine) shared_->engine->Flush();
    return info.Env().Undefined();
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
    num("gatewayAsked", c.gateway_asked);
    num("gatewayHandoffs", c.gateway_handoffs);
    num("gatewayGone", c.gateway_gone);
    num("gatewayRefused", c.gateway_refused);
    num("gatewayHeadTimeouts", c.gateway_head_timeouts);
    num("cancelled", c.cancelled);
    num("rebound", c.rebound);
    sonde::SetQosCounters(o, c.qos_started, c.qos_shed, c.qos_waiting, c.qos_held);
    return o;
  }

  // setQos({bestEffortShare, standardShare, queueBound}): new limits from the next engine turn.
  Napi::Value SetQos(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sonde::QosLimits l = sonde::QosArg(info);
    if (shared_->engine) shared_->engine->SetQos(l);
    return env.Undefined();
  }

  static Napi::Error ListenError(Napi::Env env, int err) {
    Napi::Error e = Napi::Error::New(env, std::string("listen: ") + std::strerror(err));
    e.Set("errno", Napi::Number::New(env, err));
    return e;
  }

  // The listener keeps the process alive, as a listening Node server does.
  void Listening(Napi::Env env) {
    if (!shared_->refed) {
      shared_->js.Ref(env);
      shared_->refed = true;
    }
    shared_->listening = true;
  }

  // listen(family, addr, port): the gateway's listener; returns the bound port.
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!shared_->engine) throw Napi::Error::New(env, "StreamEngine is closed");
    if (info.Length() != 6) throw Napi::TypeError::New(env, "listen(family, addr, port, maxConnections, maxPerClient, headerTimeoutMs)");
    uint32_t family = ArgU32(info, 0, "family", 6);
    if (family != 4 && family != 6) throw Napi::RangeError::New(env, "listen: family must be 4 or 6");
    const uint8_t* addr = ArgAddr(info, 1, "addr", false);
    uint16_t port = static_cast<uint16_t>(ArgU32(info, 2, "port", 65535));
    auto limits = std::make_shared<sonde::GatewayLimits>();
    limits->max_conns = ArgU32(info, 3, "maxConnections", 1u << 20);
    limits->max_per_peer = ArgU32(info, 4, "maxPerClient", 1u << 20);
    limits->head_timeout_ns = static_cast<int64_t>(ArgU32(info, 5, "headerTimeoutMs", 3600000)) * 1000000;
    int r = shared_->engine->Listen(static_cast<uint8_t>(family), addr, port, limits);
    if (r < 0) throw ListenError(env, -r);
    Listening(env);
    return Napi::Number::New(env, r);
  }

  // shareListener(other): accept on the listener `other` opened, from this engine's thread too.
  Napi::Value ShareListener(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!shared_->engine) throw Napi::Error::New(env, "StreamEngine is closed");
    bool ours = false;
    if (info.Length() != 1 || !info[0].IsObject() || napi_check_object_type_tag(env, info[0], &kTypeTag, &ours) != napi_ok || !ours) {
      throw Napi::TypeError::New(env, "shareListener(other: StreamEngine)");
    }
    StreamEngineWrap* other = Napi::ObjectWrap<StreamEngineWrap>::Unwrap(info[0].As<Napi::Object>());
    if (!other->shared_->engine) throw Napi::Error::New(env, "shareListener: the other StreamEngine is closed");
    int r = shared_->engine->ShareListener(*other->shared_->engine);
    if (r < 0) throw ListenError(env, -r);
    Listening(env);
    return env.Undefined();
  }

  // answer(meta, contentTypes, bodies): the replies to asks, a batch at once. meta holds five
  // numbers per answer: conn, gen, status, the index of its content type and the length of its
  // body in UTF-16 units; bodies is every body, joined.
  Napi::Value Answer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!shared_->engine) return env.Undefined();
    if (info.Length() != 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        !info[1].IsArray() || !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(env, "answer(meta: Float64Array, contentTypes: string[], bodies: Uint8Array)");
    }
    Napi::Float64Array meta = info[0].As<Napi::Float64Array>();
    Napi::Array types = info[1].As<Napi::Array>();
    if (meta.ElementLength() % 5 != 0) throw Napi::RangeError::New(env, "answer: meta must hold 5 numbers per answer");
    size_t n = meta.ElementLength() / 5;
    std::vector<std::string> type_text;
    for (uint32_t i = 0; i < types.Length(); i++) {
      Napi::Value t = types.Get(i);
      if (!t.IsString()) throw Napi::TypeError::New(env, "answer: contentTypes must be strings");
      type_text.push_back(t.As<Napi::String>().Utf8Value());
    }
    // The bodies' UTF-8 bytes, one after another; meta gives each one's length in bytes.
    Napi::Uint8Array bytes = info[2].As<Napi::Uint8Array>();
    const char* data = reinterpret_cast<const char*>(bytes.Data());
    size_t size = bytes.ByteLength();
    std::vector<sonde::GatewayAnswer>& out = shared_->answers;
    out.clear();
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
      double conn = meta[i * 5], gen = meta[i * 5 + 1], status = meta[i * 5 + 2], type = meta[i * 5 + 3], len = meta[i * 5 + 4];
      if (!(type >= 0 && type < type_text.size()) || !(status >= 100 && status <= 599) || !(conn >= 0 && conn <= 0xffffffffu) ||
          !(gen >= 0 && gen <= 0xffffffffu) || !(len >= 0 && len <= static_cast<double>(size - off))) {
        out.clear();
        throw Napi::RangeError::New(env, "answer: bad answer " + std::to_string(i));
      }
      size_t end = off + static_cast<size_t>(len);
      out.push_back({(static_cast<uint64_t>(gen) << 32) | static_cast<uint32_t>(conn), static_cast<int>(status), type_text[static_cast<size_t>(type)],
                     std::string(data + off, end - off)});
      off = end;
    }
    shared_->engine->Answer(&out);
    out.clear();
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
