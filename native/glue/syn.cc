// N-API wrapper of the SYN scan engine: `new SynEngine(onBatch)`, `start(spec) -> run id`,
// `stopRun(id)`, `progress(id)`. Port states reach JS in batches of typed arrays through a
// ThreadSafeFunction (never one object per packet), each run's end as a summary object in the
// batch's `done` list, after that run's last state. The spec is checked here and in the engine.
#include <arpa/inet.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "glue/args.h"
#include "glue/batch_delivery.h"
#include "glue/glue.h"
#include "syn/engine.h"

namespace {

using sonde::OptBool;
using sonde::OptU32;
using sonde::SynEngine;
using sonde::SynOutcome;
using sonde::SynRunSpec;

[[noreturn]] void SpecError(Napi::Env env, const std::string& what) { sonde::ThrowWithCode(env, "scan: " + what, "ERR_SONDE_SYN_SPEC"); }

// A textual address of `family` into 16 bytes (IPv4 in the first 4); throws otherwise.
void ParseAddress(Napi::Env env, const Napi::Value& v, int family, uint8_t* out, const char* what) {
  if (!v.IsString()) SpecError(env, std::string(what) + " must be an address string");
  std::string s = v.As<Napi::String>().Utf8Value();
  std::memset(out, 0, 16);
  if (inet_pton(family == 4 ? AF_INET : AF_INET6, s.c_str(), out) != 1) {
    SpecError(env, std::string(what) + " '" + s + "' is not an IPv" + std::to_string(family) + " address");
  }
}

double Num(Napi::Object o, const char* key, double def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) SpecError(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

SynRunSpec ParseSpec(Napi::Env env, Napi::Object o) {
  SynRunSpec s;
  Napi::Value runs = o.Get("runs"), ports = o.Get("ports");
  if (!runs.IsArray() || !ports.IsArray()) SpecError(env, "runs and ports must be arrays");
  Napi::Array ra = runs.As<Napi::Array>(), pa = ports.As<Napi::Array>();
  for (uint32_t i = 0; i < ra.Length(); i++) {
    Napi::Value rv = ra.Get(i);
    if (!rv.IsObject()) SpecError(env, "each run must be {family, first, count}");
    Napi::Object r = rv.As<Napi::Object>();
    sonde::SpaceRun sr;
    double fam = Num(r, "family", 0), count = Num(r, "count", 0);
    if (fam != 4 && fam != 6) SpecError(env, "a run's family must be 4 or 6");
    if (!(count >= 1 && count <= 4294967296.0) || count != std::floor(count)) SpecError(env, "a run's count must be an integer in 1..2^32");
    sr.family = static_cast<uint8_t>(fam);
    sr.count = static_cast<uint64_t>(count);
    ParseAddress(env, r.Get("first"), sr.family, sr.first, "a run's first address");
    s.runs.push_back(sr);
  }
  for (uint32_t i = 0; i < pa.Length(); i++) {
    Napi::Value pv = pa.Get(i);
    if (!pv.IsArray() || pv.As<Napi::Array>().Length() != 2) SpecError(env, "each port range must be [lo, hi]");
    double lo = pv.As<Napi::Array>().Get(0u).ToNumber().DoubleValue(), hi = pv.As<Napi::Array>().Get(1u).ToNumber().DoubleValue();
    if (!(lo >= 1 && hi <= 65535 && lo <= hi) || lo != std::floor(lo) || hi != std::floor(hi)) SpecError(env, "port ranges must be integers 1..65535, lo <= hi");
    s.ports.push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
  }
  s.rate = Num(o, "rate", 0);
  if (!(s.rate > 0) || !std::isfinite(s.rate) || s.rate > 1e8) SpecError(env, "rate must be a number of packets per second in (0, 1e8]");
  s.retries = OptU32(o, "retries", 1, 0, 100);
  s.wait_ms = OptU32(o, "waitMs", 1000, 0, 3600000);
  s.shard_count = OptU32(o, "shardCount", 1, 1, 65535);
  s.shard_index = OptU32(o, "shardIndex", 0, 0, 65534);
  s.max_runtime_ms = static_cast<uint64_t>(Num(o, "maxRuntimeMs", 0));
  s.all_states = OptBool(o, "allStates", false);
  Napi::Value seed = o.Get("seed");
  if (seed.IsBigInt()) {
    bool lossless = false;
    s.seed = seed.As<Napi::BigInt>().Uint64Value(&lossless);
  } else if (seed.IsUndefined()) {
    std::random_device rd;
    s.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  } else {
    SpecError(env, "seed must be a bigint");
  }
  if (!o.Get("source4").IsUndefined()) {
    ParseAddress(env, o.Get("source4"), 4, s.src4, "source4");
    s.has_src4 = true;
  }
  if (!o.Get("source6").IsUndefined()) {
    ParseAddress(env, o.Get("source6"), 6, s.src6, "source6");
    s.has_src6 = true;
  }
  Napi::Value sp = o.Get("sourcePorts");
  if (!sp.IsUndefined()) {
    if (!sp.IsArray() || sp.As<Napi::Array>().Length() != 2) SpecError(env, "sourcePorts must be [lo, hi]");
    double lo = sp.As<Napi::Array>().Get(0u).ToNumber().DoubleValue(), hi = sp.As<Napi::Array>().Get(1u).ToNumber().DoubleValue();
    if (!(lo >= 1 && hi <= 65535 && lo <= hi)) SpecError(env, "sourcePorts must be 1..65535 with lo <= hi");
    s.sport_lo = static_cast<uint16_t>(lo);
    s.sport_hi = static_cast<uint16_t>(hi);
  }
  return s;
}

Napi::Object CountersObject(Napi::Env env, const sonde::SynCounters& c) {
  Napi::Object o = Napi::Object::New(env);
  auto num = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
  num("sent", c.sent);
  num("refused", c.refused);
  num("total", c.total);
  num("received", c.received);
  num("validated", c.validated);
  num("foreign", c.foreign);
  num("duplicates", c.duplicates);
  num("open", c.open);
  num("closed", c.closed);
  num("filtered", c.filtered);
  return o;
}

class SynEngineWrap : public Napi::ObjectWrap<SynEngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SynEngine",
                       {InstanceMethod("start", &SynEngineWrap::Start), InstanceMethod("stopRun", &SynEngineWrap::StopRun),
                        InstanceMethod("progress", &SynEngineWrap::Progress), InstanceMethod("ref", &SynEngineWrap::Ref),
                        InstanceMethod("unref", &SynEngineWrap::Unref), InstanceMethod("close", &SynEngineWrap::Close)});
  }

  explicit SynEngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SynEngineWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "new SynEngine(onBatch: function)");
    batches_.Start(env, info[0].As<Napi::Function>(), "sonde-syn", true);
    std::string error;
    engine_ = SynEngine::Create(batches_.MakeSender(Deliver), &error);
    if (!engine_) {
      batches_.Release();
      sonde::ThrowWithCode(env, error, "ERR_SONDE_SYN_SOCKET");
    }
  }

  ~SynEngineWrap() override { Shutdown(); }

 private:
  static void Deliver(Napi::Env env, Napi::Function cb, std::vector<SynOutcome>& batch) {
    size_t hits = 0;
    for (const SynOutcome& o : batch) hits += o.summary ? 0 : 1;
    auto run = Napi::Uint32Array::New(env, hits);
    auto family = Napi::Uint8Array::New(env, hits);
    auto state = Napi::Uint8Array::New(env, hits);
    auto reason = Napi::Uint8Array::New(env, hits);
    auto code = Napi::Uint8Array::New(env, hits);
    auto ttl = Napi::Uint8Array::New(env, hits);
    auto port = Napi::Uint16Array::New(env, hits);
    auto addr = Napi::Uint8Array::New(env, hits * 16);
    auto rtt = Napi::Float64Array::New(env, hits);
    Napi::Array done = Napi::Array::New(env);
    size_t i = 0;
    uint32_t d = 0;
    for (const SynOutcome& o : batch) {
      if (o.summary) {
        Napi::Object s = CountersObject(env, o.summary->counters);
        s.Set("run", Napi::Number::New(env, o.run));
        s.Set("seconds", Napi::Number::New(env, o.summary->seconds));
        s.Set("packetsPerSecond", Napi::Number::New(env, o.summary->packets_per_second));
        s.Set("truncated", Napi::Boolean::New(env, o.summary->truncated));
        done.Set(d++, s);
        continue;
      }
      run[i] = o.run;
      family[i] = o.family;
      state[i] = static_cast<uint8_t>(o.state);
      reason[i] = static_cast<uint8_t>(o.reason);
      code[i] = o.icmp_code;
      ttl[i] = o.ttl;
      port[i] = o.port;
      std::memcpy(addr.Data() + i * 16, o.addr, 16);
      rtt[i] = o.rtt;
      i++;
    }
    Napi::Object b = Napi::Object::New(env);
    b.Set("length", Napi::Number::New(env, static_cast<double>(hits)));
    b.Set("run", run);
    b.Set("family", family);
    b.Set("state", state);
    b.Set("reason", reason);
    b.Set("code", code);
    b.Set("ttl", ttl);
    b.Set("port", port);
    b.Set("addr", addr);
    b.Set("rtt", rtt);
    b.Set("done", done);
    cb.Call({b});
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) throw Napi::Error::New(env, "SynEngine is closed");
    if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "start(spec)");
    SynRunSpec spec = ParseSpec(env, info[0].As<Napi::Object>());
    std::string error;
    uint32_t id = engine_->Start(spec, &error);
    if (id == 0) SpecError(env, error);
    return Napi::Number::New(env, id);
  }

  Napi::Value StopRun(const Napi::CallbackInfo& info) {
    if (engine_ && info.Length() == 1 && info[0].IsNumber()) engine_->StopRun(info[0].As<Napi::Number>().Uint32Value());
    return info.Env().Undefined();
  }

  Napi::Value Progress(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    sonde::SynCounters c;
    if (!engine_ || info.Length() != 1 || !info[0].IsNumber() || !engine_->Counters(info[0].As<Napi::Number>().Uint32Value(), &c)) {
      return env.Undefined();
    }
    return CountersObject(env, c);
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
      engine_->Stop();  // joins both threads and removes the nftables table: no call after this
      engine_.reset();
    }
    batches_.Release();
  }

  std::unique_ptr<SynEngine> engine_;
  sonde::BatchDelivery<std::vector<SynOutcome>> batches_;
};

// synDefaultSourcePorts(): [lo, hi], the range a run without sourcePorts uses (DefaultSourcePorts).
Napi::Value DefaultPorts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t lo = 0, hi = 0;
  std::string error;
  if (!sonde::DefaultSourcePorts(&lo, &hi, &error)) SpecError(env, error);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, lo));
  a.Set(1u, Napi::Number::New(env, hi));
  return a;
}

}  // namespace

void InitSyn(Napi::Env env, Napi::Object exports) {
  exports.Set("SynEngine", SynEngineWrap::Define(env));
  exports.Set("synDefaultSourcePorts", Napi::Function::New(env, DefaultPorts, "synDefaultSourcePorts"));
}
