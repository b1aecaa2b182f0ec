// Registration only: every capability's N-API surface lives in glue/.
#include "glue/glue.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitNotify(env, exports);
  InitIcmp(env, exports);
  InitBpf(env, exports);
  InitStream(env, exports);
  InitTrace(env, exports);
  InitNdp(env, exports);
  InitSyn(env, exports);
  InitMemory(env, exports);
  return exports;
}

NODE_API_MODULE(sonde, Init)
