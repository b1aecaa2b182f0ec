#include <malloc.h>
// node's V8 headers are not -Wextra clean (unused parameters of inline functions).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <v8.h>
#pragma GCC diagnostic pop

#include "glue/glue.h"
#include "sys/link_tables.h"

namespace {

// releaseMemory(): what the daemon calls once, when start-up is over. Start-up grows V8's young
// generation (loading modules keeps most of what it allocates, so the scavenger sizes the semi-spaces
// up) and leaves freed C heap behind (libbpf's BTF parse, config load); V8's memory reducer gives the
// young generation back only ~8 s later, and glibc keeps freed pages below the top of the heap.
// LowMemoryNotification is the reducer's full GC now; malloc_trim returns the free pages
// (MADV_DONTNEED inside the heap, not only the top). Returns whether malloc_trim released any.
// N-API has no call for this, hence the V8 API: the addon is built against the running node.
Napi::Value ReleaseMemory(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
}

// reduceMemory(): what V8's memory reducer would do if it ran at idle. The reducer is armed only by a
// full GC, and an idle daemon allocates too little ever to need one: the garbage promoted from its
// young generation stays resident. Moderate memory pressure starts one incremental, memory-reducing
// mark-compact (V8 Heap::CheckMemoryPressure): steps in tasks and a final pause of a few ms, not
// LowMemoryNotification's series of full GCs.
Napi::Value ReduceMemory(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kModerate);
  return info.Env().Undefined();
}

// releaseLinkTables(): the executable's dynamic-linking tables out of this process's page tables
// (sys/link_tables.h), also once start-up is over: every library and the addon are bound by then.
// Returns {bytes} advised, or {error} naming why none could be.
Napi::Value ReleaseLinkTablesJs(const Napi::CallbackInfo& info) {
  std::string error;
  size_t bytes = sonde::ReleaseLinkTables(&error);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(bytes)));
  if (bytes == 0) out.Set("error", Napi::String::New(info.Env(), error));
  return out;
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("releaseMemory", Napi::Function::New(env, ReleaseMemory, "releaseMemory"));
  exports.Set("reduceMemory", Napi::Function::New(env, ReduceMemory, "reduceMemory"));
  exports.Set("releaseLinkTables", Napi::Function::New(env, ReleaseLinkTablesJs, "releaseLinkTables"));
}
