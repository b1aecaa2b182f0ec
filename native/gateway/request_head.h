// Parses the head of one HTTP/1.x request to sonde's listener, as far as the native /probe gateway
// needs: method, path, the query parameters it knows, the scrape-timeout header and whether the
// connection stays open. Plain C++ over bytes peeked from the socket (no N-API, no allocation
// beyond the result's strings); fuzzed in native/tests. Anything it is unsure of is left to Node.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace sonde {

enum class RequestHeadStatus : uint8_t {
  kIncomplete = 0,  // no blank line yet
  kComplete = 1,    // head_len bytes are the whole request (no body)
  kOther = 2,       // well-formed or not, not one the gateway answers: Node handles the connection
};

struct RequestHead {
  RequestHeadStatus status = RequestHeadStatus::kIncomplete;
  size_t head_len = 0;
  bool keep_alive = true;  // HTTP/1.1 without "Connection: close"
  bool has_timeout = false;
  std::string scrape_timeout;  // X-Prometheus-Scrape-Timeout-Seconds, raw
  // /probe parameters, percent-decoded; has_* false when absent
  bool has_module = false, has_target = false;
  std::string module, target;
};

// `buf` holds the first `len` bytes the client sent. A request is kComplete only when it is a
// GET of /probe, HTTP/1.0 or 1.1, without a body, whose query holds no parameter other
// than module and target (debug, hostname... are Node's), each at most once.
RequestHead ParseRequestHead(const char* buf, size_t len);

// Percent-decodes a query component ('+' is a space, as Go's url.ParseQuery has it). false on a
// malformed escape.
bool QueryUnescape(const char* s, size_t n, std::string* out);

}  // namespace sonde
