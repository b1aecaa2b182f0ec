// Each N-API glue file exposes one Init* that adds its functions to the addon's exports.
// addon.cc only calls them; the work itself lives in plain C++ files without N-API.
#pragma once
#include <napi.h>

void InitNotify(Napi::Env env, Napi::Object exports);
void InitIcmp(Napi::Env env, Napi::Object exports);
void InitBpf(Napi::Env env, Napi::Object exports);
void InitStream(Napi::Env env, Napi::Object exports);
void InitNdp(Napi::Env env, Napi::Object exports);
void InitTrace(Napi::Env env, Napi::Object exports);
void InitSyn(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);
