// Argument checks shared by the N-API glue files: a bad option becomes a TypeError or RangeError
// whose message names the option, as the JS wrappers and their tests expect.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "common/qos.h"

namespace sonde {

// options[key] as an integer in min..max, or def when it is undefined.
inline uint32_t OptU32(Napi::Object o, const char* key, uint32_t def, uint32_t min, uint32_t max) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("options.") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw Napi::RangeError::New(o.Env(), std::string("options.") + key + " must be an integer in " + std::to_string(min) +
                                             ".." + std::to_string(max));
  }
  return static_cast<uint32_t>(d);
}

// options[key] as a boolean, or def when it is undefined.
inline bool OptBool(Napi::Object o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string("options.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

// options.qos ({bestEffortShare, standardShare, queueBound}, each optional) as QosLimits.
inline QosLimits OptQos(Napi::Object o) {
  QosLimits l;
  Napi::Value v = o.Get("qos");
  if (v.IsUndefined()) return l;
  if (!v.IsObject()) throw Napi::TypeError::New(o.Env(), "options.qos must be an object");
  Napi::Object q = v.As<Napi::Object>();
  auto share = [&](const char* key, double def) {
    Napi::Value s = q.Get(key);
    if (s.IsUndefined()) return def;
    double d = s.IsNumber() ? s.As<Napi::Number>().DoubleValue() : -1;
    if (!(d > 0 && d <= 1)) throw Napi::RangeError::New(o.Env(), std::string("options.qos.") + key + " must be a number in (0, 1]");
    return d;
  };
  l.best_effort_share = share("bestEffortShare", l.best_effort_share);
  l.standard_share = share("standardShare", l.standard_share);
  if (l.best_effort_share > l.standard_share) {
    throw Napi::RangeError::New(o.Env(), "options.qos.bestEffortShare must not exceed options.qos.standardShare");
  }
  l.queue_bound = OptU32(q, "queueBound", l.queue_bound, 0, 1u << 24);
  return l;
}

// setQos(limits)'s argument as QosLimits (the same checks as options.qos).
inline QosLimits QosArg(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "setQos(limits: object)");
  Napi::Object wrap = Napi::Object::New(info.Env());
  wrap.Set("qos", info[0]);
  return OptQos(wrap);
}

// Per-class counters into a counters() object, as src/native/qos.ts reads them: qosStarted0..3,
// qosShed0..3, qosWaiting0..3, qosHeld0..3.
inline void SetQosCounters(Napi::Object o, const uint64_t* started, const uint64_t* shed, const uint64_t* waiting,
                           const uint64_t* held) {
  Napi::Env env = o.Env();
  for (int k = 0; k < kQosClasses; k++) {
    std::string n = std::to_string(k);
    o.Set("qosStarted" + n, Napi::Number::New(env, static_cast<double>(started[k])));
    o.Set("qosShed" + n, Napi::Number::New(env, static_cast<double>(shed[k])));
    o.Set("qosWaiting" + n, Napi::Number::New(env, static_cast<double>(waiting[k])));
    o.Set("qosHeld" + n, Napi::Number::New(env, static_cast<double>(held[k])));
  }
}

// An Error with a stable `code` (e.g. ERR_SONDE_ICMP_SOCKET) for what the engine could not open.
[[noreturn]] inline void ThrowWithCode(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

}  // namespace sonde
