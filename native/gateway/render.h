// The native /probe gateway's pure half: which targets it can probe, how an engine outcome becomes
// a verdict with blackbox_exporter's rules, and the /probe text, written byte for byte as
// src/outputs/blackbox renders the same result (test/api/gateway.test.ts holds them together).
// No sockets, no N-API.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "stream/engine.h"

namespace sonde {

enum class GatewayKind : uint8_t { kTcp = 1, kHttp = 2 };

// One module the gateway may answer, as src/api/gateway.ts describes it. Modules with options
// only the TypeScript probers honour are never given to the gateway.
struct GatewayModule {
  std::string name;
  GatewayKind kind = GatewayKind::kTcp;
  double timeout_s = 0;  // the module's timeout, 0: none
  uint8_t preferred = 6; // preferred_ip_protocol
  bool fallback = true;  // ip_protocol_fallback
  bool reset_on_close = false;
  // http
  std::string method = "GET";
  std::string header_lines;  // "name: value\r\n" for every header but Host, as the prober sends them
  std::vector<uint16_t> valid_status;     // empty: 2xx
  std::vector<std::string> valid_versions;  // "HTTP/1.1"...; empty: any
  bool follow_redirects = true;
  bool transparent_gzip = true;
  uint64_t body_limit = 0;
};

struct GatewayTables {
  std::vector<GatewayModule> modules;
  std::vector<std::pair<int, std::string>> errno_reasons;  // from src/probers/errors.ts
  const GatewayModule* Find(const std::string& name) const;
  std::string ReasonForErrno(int err) const;
};

// A target the gateway can dial without a resolver: an IP literal (and for http an http:// URL).
struct GatewayTarget {
  uint8_t family = 4;
  uint8_t addr[16] = {};
  uint16_t port = 0;
  std::string host;         // Host header value (as in the URL, brackets kept)
  std::string path_query;   // "/" when the URL has no path
};

// false when the target needs the TypeScript prober (a name, https, user info, a zone...).
bool ParseGatewayTarget(const GatewayModule& m, const std::string& target, GatewayTarget* out);

// The request bytes of an http module's probe.
std::string BuildHttpRequest(const GatewayModule& m, const GatewayTarget& t);

struct GatewayResult {
  bool success = false;
  std::string reason;
  double duration_s = 0;
  uint8_t family = 4;
  uint32_t addr_hash = 0;
  // http
  double phases[5] = {};  // resolve, connect, tls, processing, transfer
  int64_t content_length = 0;
  uint64_t body_bytes = 0;
  int redirects = 0;
  int status = 0;
  double version = 0;
  bool has_last_modified = false;
  int64_t last_modified = 0;
};

// The verdict for one engine outcome; false when only the TypeScript prober can finish it (a
// redirect to follow, a gzip body Go would decode, a Last-Modified date in another format).
bool EvaluateOutcome(const GatewayTables& tables, const GatewayModule& m, const GatewayTarget& t, const StreamOutcome& o, const char* head,
                     GatewayResult* r);

std::string RenderProbe(const GatewayModule& m, const GatewayResult& r);

// A double as JavaScript's Number.prototype.toString writes it (ECMA-262 Number::toString).
std::string JsNumber(double v);

// blackbox's probe_ip_addr_hash: FNV-1a over the address bytes (4 for IPv4).
uint32_t AddrHash(uint8_t family, const uint8_t* addr);

// Phase seconds of an outcome as blackbox names them (connect, processing, transfer, total, write).
struct OutcomeSeconds {
  double connect, processing, transfer, total, write;
};
OutcomeSeconds PhaseSeconds(const StreamOutcome& o);

}  // namespace sonde
