// Parses the head of one HTTP/1.x request to sonde's listener, as far as the native /probe gateway
// needs: method, path, the query (decoded when it holds only module and target), the scrape-timeout
// header and whether the connection stays open. Plain C++ over bytes peeked from the socket (no
// N-API, no allocation beyond the result's strings); fuzzed in native/tests. Anything it is unsure
// of is left to Node.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace sonde {

enum class RequestHeadStatus : uint8_t {
  kIncomplete = 0,  // no blank line yet
  kComplete = 1,    // a GET of /probe, and head_len bytes are the whole request (no body)
  kOther = 2,       // well-formed or not, not one the gateway takes: Node handles the connection
};

struct RequestHead {
  RequestHeadStatus status = RequestHeadStatus::kIncomplete;
  size_t head_len = 0;
  bool keep_alive = true;  // HTTP/1.1 without "Connection: close"
  bool has_timeout = false;
  std::string scrape_timeout;  // X-Prometheus-Scrape-Timeout-Seconds, raw
  std::string query;  // the query string as sent, without "?" ("" when none)
  // `simple`: the query holds no parameter but module and target, each at most once, and both
  // decode to ASCII without NUL; module and target are then their percent-decoded values (has_*
  // false when absent). Otherwise TypeScript parses `query` itself.
  bool simple = false;
  bool has_module = false, has_target = false;
  std::string module, target;
};

// `buf` holds the first `len` bytes the client sent. A request is kComplete only when it is a
// GET of /probe, HTTP/1.0 or 1.1, without a body, with a query of printable ASCII and field values
// without control characters (Node answers the others, 400 for most).
RequestHead ParseRequestHead(const char* buf, size_t len);

// Percent-decodes a query component ('+' is a space, as Go's url.ParseQuery has it). false on a
// malformed escape.
bool QueryUnescape(const char* s, size_t n, std::string* out);

}  // namespace sonde
