// Registration only: every capability lives in its own *_glue.cc.
#include "glue.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitNotify(env, exports);
  InitIcmp(env, exports);
  InitBpf(env, exports);
  InitStream(env, exports);
  InitTrace(env, exports);
  InitNdp(env, exports);
  return exports;
}

NODE_API_MODULE(sonde, Init)
