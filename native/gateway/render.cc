// See gateway/render.h. Every rule here mirrors a TypeScript one, named at each place; a change
// there needs the same change here (test/api/gateway.test.ts compares the two outputs).
#include "gateway/render.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "stream/http_parse.h"

namespace sonde {

const GatewayModule* GatewayTables::Find(const std::string& name) const {
  for (const GatewayModule& m : modules) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string GatewayTables::ReasonForErrno(int err) const {
  for (const auto& e : errno_reasons) {
    if (e.first == err) return e.second;
  }
  return "network_error";  // classifyError's default (src/probers/errors.ts)
}

namespace {

bool ParsePort(const char* s, size_t n, uint16_t* port) {
  if (n == 0 || n > 5 || (n > 1 && s[0] == '0')) return false;
  uint32_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<uint32_t>(s[i] - '0');
  }
  if (v == 0 || v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

// An address literal in the one spelling the WHATWG URL parser and Node keep unchanged
// (inet_ntop's), so that Host and the address are what the TypeScript prober would use.
bool ParseCanonicalIp(const std::string& s, bool v6, uint8_t* addr) {
  char back[INET6_ADDRSTRLEN];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, s.c_str(), addr) != 1) return false;
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, addr, back, sizeof(back)) || s != back) return false;
  // IPv4-mapped IPv6: Go and the resolver treat it as IPv4; leave it to the prober.
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return !(v6 && std::memcmp(addr, kMapped, 12) == 0);
}

// HOST:PORT or [V6]:PORT into family, address and port.
bool ParseHostPort(const std::string& hp, bool need_port, GatewayTarget* t) {
  std::string host;
  size_t colon;
  bool v6 = !hp.empty() && hp[0] == '[';
  if (v6) {
    size_t close = hp.find(']');
    if (close == std::string::npos) return false;
    host = hp.substr(1, close - 1);
    colon = close + 1;
    if (colon < hp.size() && hp[colon] != ':') return false;
  } else {
    colon = hp.find(':');
    host = hp.substr(0, colon);
  }
  t->port = 0;
  if (colon < hp.size()) {
    if (!ParsePort(hp.data() + colon + 1, hp.size() - colon - 1, &t->port)) return false;
  } else if (need_port) {
    return false;
  }
  t->family = v6 ? 6 : 4;
  return ParseCanonicalIp(host, v6, t->addr);
}

// Characters a URL path or query keeps as they are (WHATWG URL percent-encode sets), minus "'",
// which the special-query set encodes.
bool UrlSafe(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("-._~/?&=%:@!$()*+,;", c) != nullptr && c != '\0';
}

const char* FieldValue(const char* head, size_t len, const char* name, size_t* vlen) {
  size_t nlen = std::strlen(name);
  const char* p = static_cast<const char*>(std::memchr(head, '\n', len));
  const char* end = head + len;
  while (p && p + 1 < end) {
    const char* line = p + 1;
    const char* eol = static_cast<const char*>(std::memchr(line, '\n', static_cast<size_t>(end - line)));
    if (!eol) eol = end;
    if (static_cast<size_t>(eol - line) > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
      const char* v = line + nlen + 1;
      const char* ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      *vlen = static_cast<size_t>(ve - v);
      return v;
    }
    p = eol < end ? eol : nullptr;
  }
  return nullptr;
}

// An IMF-fixdate (RFC 9110 5.6.7), the form servers send; other forms go to Date.parse in TS.
bool ParseHttpDate(const char* v, size_t n, int64_t* out) {
  std::string s(v, n);
  tm t{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &t);
  if (!end || *end != '\0' || s.size() != 29) return false;
  *out = static_cast<int64_t>(timegm(&t));
  return true;
}

// streamFailure (src/probers/fast.ts).
std::string EngineReason(const GatewayTables& tables, const StreamOutcome& o) {
  if (o.err == ETIMEDOUT) {
    return o.phase == StreamPhase::kConnect || o.phase == StreamPhase::kQueued ? "connect_timeout" : "timeout";
  }
  if (o.err == EPROTO) {
    return o.parse_error == static_cast<uint8_t>(HttpParseError::kBodyTooLarge) ? "body_too_large" : "protocol_error";
  }
  return tables.ReasonForErrno(o.err);
}

void Gauge(std::string* out, const char* name, const char* help, const std::string& value) {
  if (!out->empty()) out->append("\n");
  out->append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" gauge\n");
  out->append(name).append(" ").append(value).append("\n");
}

}  // namespace

bool ParseGatewayTarget(const GatewayModule& m, const std::string& target, GatewayTarget* t) {
  if (m.kind == GatewayKind::kTcp) {
    if (!ParseHostPort(target, true, t)) return false;
  } else {
    // targetURL + bareHost (src/probers/http/request_spec.ts), for the spellings URL keeps as is.
    static const char kScheme[] = "http://";
    if (target.compare(0, 7, kScheme) != 0) return false;
    size_t start = 7;
    size_t slash = target.find_first_of("/?#", start);
    std::string authority = target.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (authority.find('@') != std::string::npos || !ParseHostPort(authority, false, t)) return false;
    if (t->port == 80) return false;  // URL drops a default port from Host: leave that spelling to TS
    if (t->port == 0) t->port = 80;
    t->host = authority;
    t->path_query = slash == std::string::npos ? "/" : target.substr(slash);
    if (t->path_query[0] != '/') return false;  // "http://h?q": URL inserts the slash
    for (char c : t->path_query) {
      if (!UrlSafe(c)) return false;
    }
    if (t->path_query.find("/.") != std::string::npos) return false;  // dot segments: URL rewrites them
  }
  // resolveTarget with a literal (src/probers/resolve.ts): another family only with fallback.
  return t->family == m.preferred || m.fallback;
}

std::string BuildHttpRequest(const GatewayModule& m, const GatewayTarget& t) {
  // As fastHTTP writes it (src/probers/fast.ts).
  std::string r;
  r.reserve(64 + t.path_query.size() + t.host.size() + m.header_lines.size());
  r.append(m.method).append(" ").append(t.path_query).append(" HTTP/1.1\r\nhost: ").append(t.host).append("\r\n");
  r.append(m.header_lines).append("connection: close\r\n\r\n");
  return r;
}

uint32_t AddrHash(uint8_t family, const uint8_t* addr) {
  uint32_t h = 0x811c9dc5;
  for (int i = 0; i < (family == 6 ? 16 : 4); i++) {
    h ^= addr[i];
    h *= 0x01000193;
  }
  return h;
}

OutcomeSeconds PhaseSeconds(const StreamOutcome& o) {
  auto sec = [](int64_t from, int64_t to) { return from != 0 && to >= from ? static_cast<double>(to - from) / 1e9 : 0.0; };
  OutcomeSeconds s{};
  // Phases as blackbox_exporter names them: connect ends at the handshake (or the failure),
  // processing runs from connected to the first response byte, transfer from there to the end.
  s.connect = sec(o.t_start, o.t_connected ? o.t_connected : o.t_done);
  s.processing = o.t_connected ? sec(o.t_connected, o.t_first_byte ? o.t_first_byte : (o.t_written ? o.t_done : 0)) : 0;
  s.transfer = sec(o.t_first_byte, o.t_done);
  s.total = sec(o.t_start, o.t_done);
  s.write = sec(o.t_connected, o.t_written);
  return s;
}

bool EvaluateOutcome(const GatewayTables& tables, const GatewayModule& m, const GatewayTarget& t, const StreamOutcome& o, const char* head,
                     GatewayResult* r) {
  r->family = t.family;
  r->addr_hash = AddrHash(t.family, t.addr);
  OutcomeSeconds secs = PhaseSeconds(o);
  std::string failure = o.err ? EngineReason(tables, o) : "";
  if (m.kind == GatewayKind::kTcp) {
    r->success = o.err == 0;
    r->reason = failure;
    return true;
  }
  // probeChain (src/probers/http/chain.ts) for a single hop.
  bool got = o.status > 0;
  r->phases[1] = secs.connect;
  if (got) {
    r->phases[3] = secs.processing;
    if (o.err == 0) r->phases[4] = secs.transfer;
  }
  size_t vlen = 0;
  const char* v;
  if (o.err == 0 && m.transparent_gzip && (v = FieldValue(head, o.head_len, "content-encoding", &vlen)) &&
      vlen == 4 && strncasecmp(v, "gzip", 4) == 0) {
    return false;
  }
  if (o.err == 0 && got && FieldValue(head, o.head_len, "location", &vlen)) {
    static const uint16_t kRedirects[] = {301, 302, 303, 307, 308};
    for (uint16_t code : kRedirects) {
      if (o.status != code) continue;
      if (m.follow_redirects) return false;
      r->redirects = 1;
    }
  }
  std::string version = o.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  if (got && (failure.empty() || failure == "body_too_large" || failure == "reset")) {
    std::string verdict;
    bool ok_status = false;
    if (m.valid_status.empty()) {
      ok_status = o.status >= 200 && o.status < 300;
    } else {
      for (uint16_t c : m.valid_status) ok_status = ok_status || c == o.status;
    }
    if (!ok_status) {
      verdict = "http_status";
    } else if (!m.valid_versions.empty()) {
      bool ok = false;
      for (const std::string& s : m.valid_versions) ok = ok || s == version;
      if (!ok) verdict = "http_version";
    }
    if (!verdict.empty() && (failure.empty() || verdict == "http_status")) failure = verdict;
  }
  if (got && (v = FieldValue(head, o.head_len, "last-modified", &vlen))) {
    if (!ParseHttpDate(v, vlen, &r->last_modified)) return false;
    r->has_last_modified = true;
  }
  r->success = failure.empty();
  r->reason = failure;
  r->status = o.status;
  r->version = got ? (o.version_minor == 0 ? 1.0 : 1.1) : 0;
  r->content_length = got ? o.content_length : 0;
  r->body_bytes = got ? o.body_bytes : 0;
  return true;
}

std::string JsNumber(double v) {
  if (v != v) return "NaN";
  if (v == 0) return "0";
  if (v == 1.0 / 0.0) return "+Inf";  // formatValue (src/outputs/blackbox/registry.ts)
  if (v == -1.0 / 0.0) return "-Inf";
  std::string out;
  if (v < 0) {
    out.push_back('-');
    v = -v;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t e = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < e; i++) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  int k = static_cast<int>(digits.size());
  int n = std::atoi(sci.c_str() + e + 1) + 1;  // the decimal point sits after n digits
  if (k <= n && n <= 21) {
    out.append(digits).append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<size_t>(n)).append(".").append(digits, static_cast<size_t>(n), std::string::npos);
  } else if (-6 < n && n <= 0) {
    out.append("0.").append(static_cast<size_t>(-n), '0').append(digits);
  } else {
    out.push_back(digits[0]);
    if (k > 1) out.append(".").append(digits, 1, std::string::npos);
    out.append(n - 1 >= 0 ? "e+" : "e-").append(std::to_string(n - 1 >= 0 ? n - 1 : 1 - n));
  }
  return out;
}

std::string RenderProbe(const GatewayModule& m, const GatewayResult& r) {
  std::string out;
  out.reserve(2048);
  // writeResolve (src/outputs/blackbox/common.ts); a literal needs no lookup.
  Gauge(&out, "probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds", "0");
  Gauge(&out, "probe_ip_protocol", "Specifies whether probe ip protocol is IP4 or IP6", r.family == 6 ? "6" : "4");
  Gauge(&out, "probe_ip_addr_hash", "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
        std::to_string(r.addr_hash));
  if (m.kind == GatewayKind::kTcp) {
    Gauge(&out, "probe_failed_due_to_regex", "Indicates if probe failed due to regex", "0");  // writeTCP
  } else {
    // writeHTTP (src/outputs/blackbox/http.ts)
    static const char* kPhases[] = {"resolve", "connect", "tls", "processing", "transfer"};
    out.append("\n# HELP probe_http_duration_seconds Duration of http request by phase, summed over all redirects\n");
    out.append("# TYPE probe_http_duration_seconds gauge\n");
    for (int i = 0; i < 5; i++) {
      out.append("probe_http_duration_seconds{phase=\"").append(kPhases[i]).append("\"} ").append(JsNumber(r.phases[i])).append("\n");
    }
    Gauge(&out, "probe_http_content_length", "Length of http content response", JsNumber(static_cast<double>(r.content_length)));
    Gauge(&out, "probe_http_uncompressed_body_length", "Length of uncompressed response body", JsNumber(static_cast<double>(r.body_bytes)));
    Gauge(&out, "probe_http_redirects", "The number of redirects", std::to_string(r.redirects));
    Gauge(&out, "probe_http_ssl", "Indicates if SSL was used for the final redirect", "0");
    Gauge(&out, "probe_http_status_code", "Response HTTP status code", std::to_string(r.status));
    Gauge(&out, "probe_http_version", "Returns the version of HTTP of the probe response", JsNumber(r.version));
    Gauge(&out, "probe_failed_due_to_regex", "Indicates if probe failed due to regex", "0");
    if (r.has_last_modified) {
      Gauge(&out, "probe_http_last_modified_timestamp_seconds", "Returns the Last-Modified HTTP response header in unixtime",
            JsNumber(static_cast<double>(r.last_modified)));
    }
  }
  // writeCommon
  Gauge(&out, "probe_success", "Displays whether or not the probe was a success", r.success ? "1" : "0");
  Gauge(&out, "probe_duration_seconds", "Returns how long the probe took to complete in seconds", JsNumber(r.duration_s));
  if (!r.success && !r.reason.empty()) {
    out.append("\n# HELP sonde_probe_failure_reason Why the probe failed: one reason from sonde's closed set (docs/reasons.md)\n");
    out.append("# TYPE sonde_probe_failure_reason gauge\nsonde_probe_failure_reason{reason=\"").append(r.reason).append("\"} 1\n");
  }
  return out;
}

}  // namespace sonde
