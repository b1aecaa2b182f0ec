#include "glue.h"

// Placeholder until the eBPF loader lands (issue 4).
void InitBpf(Napi::Env, Napi::Object) {}
