// libFuzzer harness for the HTTP/1.x response parser. The first input byte picks the options
// (HEAD or not, body limit, piece size); the rest is fed in pieces and must never read out of
// bounds, overrun the capture buffer, consume more than given, or disagree with a whole feed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "stream/http_parse.h"

using sonde::HttpParseStatus;
using sonde::HttpResponseParser;

namespace {

HttpParseStatus Parse(const char* p, size_t n, bool head, uint64_t limit, size_t piece, HttpResponseParser* out,
                      char* cap, size_t cap_max) {
  out->Reset(head, limit, cap, cap_max, 4096);
  HttpParseStatus st = HttpParseStatus::kNeedMore;
  size_t off = 0;
  while (off < n && st == HttpParseStatus::kNeedMore) {
    size_t take = piece < n - off ? piece : n - off;
    size_t used = 0;
    st = out->Feed(p + off, take, &used);
    if (used > take) std::abort();
    if (st == HttpParseStatus::kNeedMore && used != take) std::abort();
    off += used;
  }
  if (st == HttpParseStatus::kNeedMore) st = out->Finish();
  return st;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  bool head = data[0] & 1;
  uint64_t limit = (data[0] >> 1) & 7;  // 0 (none) .. 7 bytes: exercises the limit paths
  size_t piece = 1 + (data[0] >> 4);
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  char cap_a[32], cap_b[32];
  HttpResponseParser a, b;
  HttpParseStatus sa = Parse(p, n, head, limit, piece, &a, cap_a, sizeof(cap_a));
  HttpParseStatus sb = Parse(p, n, head, limit, n + 1, &b, cap_b, sizeof(cap_b));
  if (sa != sb || a.error() != b.error() || a.status_code() != b.status_code() || a.body_bytes() != b.body_bytes() ||
      a.captured() != b.captured() || a.captured() > sizeof(cap_a)) {
    std::abort();  // piecewise and whole parsing must agree
  }
  if (limit != 0 && a.body_bytes() > limit) std::abort();
  return 0;
}
