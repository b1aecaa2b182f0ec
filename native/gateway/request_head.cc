// See gateway/request_head.h. The grammar is RFC 9112's request-line and field lines, read strictly:
// a byte the gateway does not expect sends the connection to Node, which answers as it always did.
#include "gateway/request_head.h"

#include <cstring>

namespace sonde {

namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool EqualNoCase(const char* a, size_t n, const char* lit) {
  size_t m = std::strlen(lit);
  if (n != m) return false;
  for (size_t i = 0; i < n; i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lit[i]) return false;
  }
  return true;
}

// Whether a comma-separated Connection value lists `token`.
bool ListHas(const char* v, size_t n, const char* token) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
    size_t start = i;
    while (i < n && v[i] != ',') i++;
    size_t end = i;
    while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) end--;
    if (EqualNoCase(v + start, end - start, token)) return true;
  }
  return false;
}

// Whether a decoded value can cross to JS as it is: URLSearchParams decodes bytes >= 0x80 as
// UTF-8 with replacement characters, and NUL separates the fields handed over.
bool PlainAscii(const std::string& s) {
  for (char c : s) {
    if (c == '\0' || static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// RFC 9110 5.6.2 tchar.
bool TokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// The query string when it holds only module= and target=, each once; false otherwise.
bool ParseQuery(const char* q, size_t n, RequestHead* h) {
  size_t i = 0;
  while (i <= n) {
    size_t amp = i;
    while (amp < n && q[amp] != '&') amp++;
    if (amp > i) {
      const char* eq = static_cast<const char*>(std::memchr(q + i, '=', amp - i));
      size_t klen = eq ? static_cast<size_t>(eq - (q + i)) : amp - i;
      std::string key;
      if (!QueryUnescape(q + i, klen, &key)) return false;
      const char* val = eq ? eq + 1 : q + amp;
      size_t vlen = static_cast<size_t>(q + amp - val);
      if (key == "module" && !h->has_module) {
        if (!QueryUnescape(val, vlen, &h->module) || !PlainAscii(h->module)) return false;
        h->has_module = true;
      } else if (key == "target" && !h->has_target) {
        if (!QueryUnescape(val, vlen, &h->target) || !PlainAscii(h->target)) return false;
        h->has_target = true;
      } else {
        return false;
      }
    }
    i = amp + 1;
  }
  return true;
}

}  // namespace

bool QueryUnescape(const char* s, size_t n, std::string* out) {
  out->clear();
  out->reserve(n);
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '+') {
      out->push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= n) return false;
      int hi = Hex(s[i + 1]), lo = Hex(s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

RequestHead ParseRequestHead(const char* buf, size_t len) {
  RequestHead h;
  const char* end = nullptr;
  // The head ends at CRLFCRLF. A line ended by a bare LF never meets one: not ours, and Node
  // answers it (400) now rather than the head timeout later.
  for (size_t i = 0; i < len; i++) {
    if (buf[i] != '\n') continue;
    if (i == 0 || buf[i - 1] != '\r') {
      h.status = RequestHeadStatus::kOther;
      return h;
    }
    if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
      end = buf + i - 3;
      break;
    }
  }
  if (!end) return h;  // kIncomplete
  h.head_len = static_cast<size_t>(end - buf) + 4;
  h.status = RequestHeadStatus::kOther;

  // request-line = method SP request-target SP HTTP-version
  const char* line_end = static_cast<const char*>(std::memchr(buf, '\r', static_cast<size_t>(end - buf) + 1));
  const char* sp1 = static_cast<const char*>(std::memchr(buf, ' ', static_cast<size_t>(line_end - buf)));
  if (!sp1) return h;
  if (!(sp1 - buf == 3 && std::memcmp(buf, "GET", 3) == 0)) return h;  // HEAD, POST...: Node's
  const char* path = sp1 + 1;
  const char* sp2 = static_cast<const char*>(std::memchr(path, ' ', static_cast<size_t>(line_end - path)));
  if (!sp2 || line_end - sp2 != 9 || std::memcmp(sp2 + 1, "HTTP/1.", 7) != 0) return h;
  char minor = sp2[8];
  if (minor != '0' && minor != '1') return h;
  h.keep_alive = minor == '1';
  if (sp2 - path < 6 || std::memcmp(path, "/probe", 6) != 0) return h;
  const char* after = path + 6;
  if (after != sp2) {
    if (*after != '?') return h;
    for (const char* p = after + 1; p < sp2; p++) {
      if (*p == '#' || static_cast<unsigned char>(*p) <= 0x20 || static_cast<unsigned char>(*p) >= 0x7f) return h;
    }
    h.query.assign(after + 1, static_cast<size_t>(sp2 - after - 1));
  }
  h.simple = ParseQuery(h.query.data(), h.query.size(), &h);
  if (!h.simple) {
    h.has_module = h.has_target = false;
    h.module.clear();
    h.target.clear();
  }

  // field lines: name ":" OWS value OWS
  const char* p = line_end + 2;
  while (p < end) {
    const char* eol = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p) + 1));
    if (!eol || eol[1] != '\n') return h;
    const char* colon = static_cast<const char*>(std::memchr(p, ':', static_cast<size_t>(eol - p)));
    if (!colon || colon == p) return h;
    for (const char* c = p; c < colon; c++) {
      if (!TokenChar(*c)) return h;  // RFC 9112 5.1: no whitespace before the colon
    }
    const char* v = colon + 1;
    const char* ve = eol;
    for (const char* c = v; c < ve; c++) {
      unsigned char u = static_cast<unsigned char>(*c);
      if ((u < 0x20 && u != '\t') || u == 0x7f) return h;  // llhttp refuses these: Node's 400
    }
    while (v < ve && (*v == ' ' || *v == '\t')) v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    size_t nlen = static_cast<size_t>(colon - p), vlen = static_cast<size_t>(ve - v);
    if (EqualNoCase(p, nlen, "content-length")) {
      if (!(vlen == 1 && *v == '0')) return h;  // a body: Node's
    } else if (EqualNoCase(p, nlen, "transfer-encoding") || EqualNoCase(p, nlen, "expect") || EqualNoCase(p, nlen, "upgrade")) {
      return h;
    } else if (EqualNoCase(p, nlen, "connection")) {
      if (ListHas(v, vlen, "close")) h.keep_alive = false;
      if (ListHas(v, vlen, "keep-alive")) h.keep_alive = true;
    } else if (EqualNoCase(p, nlen, "x-prometheus-scrape-timeout-seconds")) {
      if (h.has_timeout) return h;
      h.has_timeout = true;
      h.scrape_timeout.assign(v, vlen);
    }
    p = eol + 2;
  }
  h.status = RequestHeadStatus::kComplete;
  return h;
}

}  // namespace sonde
