#include <cstring>

#include "glue/glue.h"
#include "sys/notify.h"

namespace {

// notify(socketPath: string, state: string): number — 0 or -errno; never throws on I/O errors
// because a missing service manager must not stop the daemon.
Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "notify(socketPath: string, state: string)");
  }
  int rc = sonde::NotifySend(info[0].As<Napi::String>().Utf8Value(),
                             info[1].As<Napi::String>().Utf8Value());
  return Napi::Number::New(env, rc);
}

}  // namespace

void InitNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("notify", Napi::Function::New(env, Notify, "notify"));
}
