#include "glue.h"

// Placeholder until the ICMP engine lands (issue 3).
void InitIcmp(Napi::Env, Napi::Object) {}
