// libFuzzer harness for the /probe gateway's parsers. The first byte picks one: 0 a request head
// (what Node would otherwise see), 1/2 a tcp/http target (from a query string), 3 a response head
// given to EvaluateOutcome (Location, Content-Encoding, Last-Modified lookups). None may read out
// of bounds; an accepted head must lie within the input, and an accepted http target must never
// put a byte into the request line that would split or end it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/render.h"
#include "gateway/request_head.h"

using namespace sonde;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  switch (data[0] & 3) {
    case 0: {
      RequestHead h = ParseRequestHead(p, n);
      if (h.status != RequestHeadStatus::kIncomplete && h.head_len > n) std::abort();
      if (h.status == RequestHeadStatus::kComplete) {
        RequestHead again = ParseRequestHead(p, h.head_len);  // the head alone says the same
        if (again.status != h.status || again.module != h.module || again.target != h.target) std::abort();
      }
      break;
    }
    case 1:
    case 2: {
      GatewayModule m;
      m.kind = (data[0] & 3) == 1 ? GatewayKind::kTcp : GatewayKind::kHttp;
      GatewayTarget t;
      if (ParseGatewayTarget(m, std::string(p, n), &t) && m.kind == GatewayKind::kHttp) {
        std::string req = BuildHttpRequest(m, t);
        size_t line = req.find("\r\n");
        if (req.substr(0, line).find_first_of("\r\n\t ", 4) != line - 9) std::abort();
        if (t.host.find_first_of("\r\n") != std::string::npos) std::abort();
      }
      break;
    }
    default: {
      GatewayTables tables;
      GatewayModule m;
      m.kind = GatewayKind::kHttp;
      m.follow_redirects = data[0] & 4;
      GatewayTarget t;
      StreamOutcome o{};
      o.status = 200;
      o.version_minor = 1;
      o.head_len = static_cast<uint32_t>(n);
      GatewayResult r;
      if (EvaluateOutcome(tables, m, t, o, p, &r)) RenderProbe(m, r);
      break;
    }
  }
  return 0;
}
