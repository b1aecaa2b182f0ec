// libFuzzer harness for the /probe gateway's request head parser (what Node would otherwise see).
// It may not read out of bounds; an accepted head must lie within the input and say the same when
// parsed alone; a simple query's values hold no NUL (the separator of the strings handed to JS)
// and the raw query no byte a request line cannot hold.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/request_head.h"

using namespace sonde;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  RequestHead h = ParseRequestHead(p, n);
  if (h.status != RequestHeadStatus::kIncomplete && h.head_len > n) std::abort();
  if (h.status == RequestHeadStatus::kComplete) {
    RequestHead again = ParseRequestHead(p, h.head_len);  // the head alone says the same
    if (again.status != h.status || again.simple != h.simple || again.module != h.module || again.target != h.target || again.query != h.query ||
        again.scrape_timeout != h.scrape_timeout) {
      std::abort();
    }
    if (h.simple && (h.module.find('\0') != std::string::npos || h.target.find('\0') != std::string::npos)) std::abort();
    for (char c : h.query) {
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) std::abort();
    }
    for (char c : h.scrape_timeout) {
      if (c == '\0' || c == '\r' || c == '\n') std::abort();
    }
  }
  return 0;
}
