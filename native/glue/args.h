// Argument checks shared by the N-API glue files: a bad option becomes a TypeError or RangeError
// whose message names the option, as the JS wrappers and their tests expect.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

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

// An Error with a stable `code` (e.g. ERR_SONDE_ICMP_SOCKET) for what the engine could not open.
[[noreturn]] inline void ThrowWithCode(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

}  // namespace sonde
