// Unit tests of the /probe gateway's pure half: request heads (what it answers and what it leaves
// to Node), targets (the spellings it dials itself), JavaScript number formatting, and the verdict
// of engine outcomes. How its answers compare with the TypeScript ones is test/api/gateway.test.ts.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "gateway/render.h"
#include "gateway/request_head.h"

using namespace sonde;

namespace {


struct HeadCase {
  const char* what;
  std::string in;
  RequestHeadStatus want;
  std::string module, target;
  bool keep_alive;
};

const std::vector<HeadCase> kHeads = {
    {"plain", "GET /probe?module=tcp_connect&target=127.0.0.1%3A80 HTTP/1.1\r\nHost: x\r\n\r\n", RequestHeadStatus::kComplete, "tcp_connect", "127.0.0.1:80", true},
    {"order and escapes", "GET /probe?target=http%3A%2F%2F127.0.0.1%3A8080%2F%3Fa%3Db&module=http_2xx HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "http_2xx", "http://127.0.0.1:8080/?a=b", true},
    {"plus is space", "GET /probe?module=a+b&target=t HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "a b", "t", true},
    {"1.0 closes", "GET /probe?module=m&target=t HTTP/1.0\r\n\r\n", RequestHeadStatus::kComplete, "m", "t", false},
    {"1.0 keep-alive", "GET /probe?module=m&target=t HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", RequestHeadStatus::kComplete, "m", "t", true},
    {"close", "GET /probe?module=m&target=t HTTP/1.1\r\nconnection: foo, close\r\n\r\n", RequestHeadStatus::kComplete, "m", "t", false},
    {"incomplete", "GET /probe?module=m&target=t HTTP/1.1\r\nHost: x\r\n", RequestHeadStatus::kIncomplete, "", "", true},
    {"other path", "GET /metrics HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"prefix path", "GET /probes?module=m&target=t HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"POST", "POST /probe?module=m&target=t HTTP/1.1\r\nContent-Length: 0\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"HEAD", "HEAD /probe?module=m&target=t HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"debug", "GET /probe?module=m&target=t&debug=true HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"hostname", "GET /probe?module=m&target=t&hostname=h HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"twice", "GET /probe?module=m&target=t&target=u HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"bad escape", "GET /probe?module=m&target=%zz HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"short escape", "GET /probe?module=m&target=%4 HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"body", "GET /probe?module=m&target=t HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", RequestHeadStatus::kOther, "", "", true},
    {"chunked", "GET /probe?module=m&target=t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"space before colon", "GET /probe?module=m&target=t HTTP/1.1\r\nHost : x\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"HTTP/2", "GET /probe?module=m&target=t HTTP/2.0\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"bare LF", "GET /probe?module=m&target=t HTTP/1.1\nHost: x\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"garbage", "HELLO\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"no query", "GET /probe HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "", "", true},
};

void TestHeads() {
  for (const HeadCase& c : kHeads) {
    RequestHead h = ParseRequestHead(c.in.data(), c.in.size());
    if (h.status != c.want) std::fprintf(stderr, "head case %s: status %d\n", c.what, static_cast<int>(h.status));
    CHECK(h.status == c.want);
    if (c.want != RequestHeadStatus::kComplete) continue;
    CHECK(h.module == c.module);
    CHECK(h.target == c.target);
    CHECK(h.keep_alive == c.keep_alive);
    CHECK(h.head_len == c.in.size());
  }
  std::string pipelined = kHeads[0].in + kHeads[1].in;
  RequestHead h = ParseRequestHead(pipelined.data(), pipelined.size());
  CHECK(h.status == RequestHeadStatus::kComplete && h.head_len == kHeads[0].in.size());
  std::string t = "GET /probe?module=m&target=t HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds:  4.5 \r\n\r\n";
  h = ParseRequestHead(t.data(), t.size());
  CHECK(h.has_timeout && h.scrape_timeout == "4.5");
}

struct TargetCase {
  const char* target;
  GatewayKind kind;
  uint8_t preferred;
  bool fallback;
  bool ok;
  uint16_t port;
  const char* host;
  const char* path;
};

const std::vector<TargetCase> kTargets = {
    {"127.0.0.1:80", GatewayKind::kTcp, 4, true, true, 80, "", ""},
    {"[::1]:443", GatewayKind::kTcp, 4, true, true, 443, "", ""},
    {"[::1]:443", GatewayKind::kTcp, 4, false, false, 0, "", ""},
    {"127.0.0.1:80", GatewayKind::kTcp, 6, false, false, 0, "", ""},
    {"localhost:80", GatewayKind::kTcp, 4, true, false, 0, "", ""},
    {"127.0.0.1", GatewayKind::kTcp, 4, true, false, 0, "", ""},
    {"127.0.0.1:0", GatewayKind::kTcp, 4, true, false, 0, "", ""},
    {"127.0.0.1:65536", GatewayKind::kTcp, 4, true, false, 0, "", ""},
    {"127.0.0.1:080", GatewayKind::kTcp, 4, true, false, 0, "", ""},
    {"127.000.0.1:80", GatewayKind::kTcp, 4, true, false, 0, "", ""},
    {"[::FFFF:127.0.0.1]:80", GatewayKind::kTcp, 4, true, false, 0, "", ""},
    {"[::ffff:127.0.0.1]:80", GatewayKind::kTcp, 4, true, false, 0, "", ""},
    {"[fe80::1%eth0]:80", GatewayKind::kTcp, 6, true, false, 0, "", ""},
    {"http://127.0.0.1:8080/", GatewayKind::kHttp, 4, true, true, 8080, "127.0.0.1:8080", "/"},
    {"http://127.0.0.1:8080", GatewayKind::kHttp, 4, true, true, 8080, "127.0.0.1:8080", "/"},
    {"http://127.0.0.1/x?y=1&z=%20", GatewayKind::kHttp, 4, true, true, 80, "127.0.0.1", "/x?y=1&z=%20"},
    {"http://[::1]:81/a", GatewayKind::kHttp, 6, true, true, 81, "[::1]:81", "/a"},
    {"http://127.0.0.1:80/", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"https://127.0.0.1/", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"HTTP://127.0.0.1/", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"127.0.0.1:8080/", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"http://u:p@127.0.0.1/", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"http://example.com/", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"http://127.0.0.1/a/../b", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"http://127.0.0.1/a b", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"http://127.0.0.1/a\r\nX: y", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"http://127.0.0.1/#frag", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"http://127.0.0.1?q", GatewayKind::kHttp, 4, true, false, 0, "", ""},
    {"http://127.0.0.1/it's", GatewayKind::kHttp, 4, true, false, 0, "", ""},
};

void TestTargets() {
  for (const TargetCase& c : kTargets) {
    GatewayModule m;
    m.kind = c.kind;
    m.preferred = c.preferred;
    m.fallback = c.fallback;
    GatewayTarget t;
    bool ok = ParseGatewayTarget(m, c.target, &t);
    if (ok != c.ok) std::fprintf(stderr, "target %s: %s\n", c.target, ok ? "accepted" : "refused");
    CHECK(ok == c.ok);
    if (!ok || !c.ok) continue;
    CHECK(t.port == c.port);
    if (c.kind == GatewayKind::kHttp) {
      CHECK(t.host == c.host);
      CHECK(t.path_query == c.path);
    }
  }
  GatewayModule m;
  m.kind = GatewayKind::kHttp;
  m.method = "GET";
  m.header_lines = "accept-encoding: gzip\r\n";
  GatewayTarget t;
  CHECK(ParseGatewayTarget(m, "http://127.0.0.1:81/p?q", &t));
  CHECK(BuildHttpRequest(m, t) == "GET /p?q HTTP/1.1\r\nhost: 127.0.0.1:81\r\naccept-encoding: gzip\r\nconnection: close\r\n\r\n");
  uint8_t lo[4] = {127, 0, 0, 1};
  CHECK(AddrHash(4, lo) == 3668918509u);  // as blackbox's ipHash and src/outputs/blackbox/common.ts
}

// Expected strings are what node prints for String(x).
void TestJsNumber() {
  struct {
    double v;
    const char* js;
  } cases[] = {{0, "0"}, {-0.0, "0"}, {1, "1"}, {-1, "-1"}, {1.1, "1.1"}, {123, "123"}, {3668918509.0, "3668918509"},
               {0.000102042, "0.000102042"}, {0.000001, "0.000001"}, {1e-7, "1e-7"}, {1.5e-7, "1.5e-7"},
               {0.1 + 0.2, "0.30000000000000004"}, {1e20, "100000000000000000000"}, {1e21, "1e+21"},
               {123456789012345680000.0, "123456789012345680000"}, {5e-324, "5e-324"},
               {1.7976931348623157e308, "1.7976931348623157e+308"}, {1445412480, "1445412480"}, {-1.5e-9, "-1.5e-9"}};
  for (const auto& c : cases) {
    std::string got = JsNumber(c.v);
    if (got != c.js) std::fprintf(stderr, "JsNumber: got %s, want %s\n", got.c_str(), c.js);
    CHECK(got == c.js);
  }
}

StreamOutcome Outcome(int err, StreamPhase phase, uint16_t status, const std::string& head) {
  StreamOutcome o{};
  o.err = err;
  o.phase = phase;
  o.status = status;
  o.version_minor = status ? 1 : 255;
  o.content_length = -1;
  o.head_len = static_cast<uint32_t>(head.size());
  o.t_start = 1000;
  o.t_connected = 2000;
  o.t_written = 2500;
  o.t_first_byte = status ? 3000 : 0;
  o.t_done = 4000;
  return o;
}

void TestEvaluate() {
  GatewayTables tables;
  tables.errno_reasons = {{ECONNREFUSED, "refused"}, {ECONNRESET, "reset"}};
  GatewayModule http;
  http.kind = GatewayKind::kHttp;
  GatewayModule tcp;
  GatewayTarget t;
  CHECK(ParseGatewayTarget(http, "http://127.0.0.1:81/", &t));
  GatewayResult r;

  std::string ok = "HTTP/1.1 200 OK\r\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n";
  CHECK(EvaluateOutcome(tables, http, t, Outcome(0, StreamPhase::kDone, 200, ok), ok.data(), &r));
  CHECK(r.success && r.status == 200 && r.version == 1.1 && r.has_last_modified && r.last_modified == 1445412480);
  CHECK(r.phases[1] > 0 && r.phases[3] > 0 && r.phases[4] > 0);

  std::string redir = "HTTP/1.1 302 Found\r\nlocation: /x\r\n\r\n";
  r = GatewayResult();
  CHECK(!EvaluateOutcome(tables, http, t, Outcome(0, StreamPhase::kDone, 302, redir), redir.data(), &r));  // to TS
  GatewayModule nofollow = http;
  nofollow.follow_redirects = false;
  r = GatewayResult();
  CHECK(EvaluateOutcome(tables, nofollow, t, Outcome(0, StreamPhase::kDone, 302, redir), redir.data(), &r));
  CHECK(!r.success && r.reason == "http_status" && r.redirects == 1);

  std::string gz = "HTTP/1.1 200 OK\r\nContent-Encoding: GZIP\r\n\r\n";
  CHECK(!EvaluateOutcome(tables, http, t, Outcome(0, StreamPhase::kDone, 200, gz), gz.data(), &r));
  std::string iso = "HTTP/1.1 200 OK\r\nLast-Modified: 2015-10-21T07:28:00Z\r\n\r\n";
  CHECK(!EvaluateOutcome(tables, http, t, Outcome(0, StreamPhase::kDone, 200, iso), iso.data(), &r));

  r = GatewayResult();
  CHECK(EvaluateOutcome(tables, http, t, Outcome(ECONNRESET, StreamPhase::kTransfer, 404, "HTTP/1.1 404 x\r\n\r\n"), "HTTP/1.1 404 x\r\n\r\n", &r));
  CHECK(r.reason == "http_status");  // a bad status wins over the reset, as in probeChain
  r = GatewayResult();
  CHECK(EvaluateOutcome(tables, http, t, Outcome(ETIMEDOUT, StreamPhase::kProcessing, 0, ""), "", &r));
  CHECK(r.reason == "timeout" && r.status == 0 && r.phases[3] == 0);
  r = GatewayResult();
  CHECK(EvaluateOutcome(tables, tcp, t, Outcome(ETIMEDOUT, StreamPhase::kConnect, 0, ""), "", &r));
  CHECK(r.reason == "connect_timeout");
  r = GatewayResult();
  CHECK(EvaluateOutcome(tables, tcp, t, Outcome(EHOSTUNREACH, StreamPhase::kConnect, 0, ""), "", &r));
  CHECK(r.reason == "network_error");
  std::string text = RenderProbe(tcp, r);
  CHECK(text.find("\nprobe_success 0\n") != std::string::npos);
  CHECK(text.find("sonde_probe_failure_reason{reason=\"network_error\"} 1\n") != std::string::npos);
  CHECK(text.find("probe_http_") == std::string::npos);
}

void WriteSeeds(const char* dir) {
  int i = 0;
  for (const HeadCase& c : kHeads) {
    check::WriteSeed(std::string(dir) + "/head" + std::to_string(i++), 0, std::vector<uint8_t>(c.in.begin(), c.in.end()));
  }
  for (const TargetCase& c : kTargets) {
    std::string s = c.target;
    check::WriteSeed(std::string(dir) + "/target" + std::to_string(i++), c.kind == GatewayKind::kHttp ? 2 : 1,
                     std::vector<uint8_t>(s.begin(), s.end()));
  }
  std::string head = "HTTP/1.1 200 OK\r\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\nLocation: /\r\n\r\n";
  check::WriteSeed(std::string(dir) + "/outcome", 3, std::vector<uint8_t>(head.begin(), head.end()));
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* dir = check::SeedDir(argc, argv)) {
    WriteSeeds(dir);
    return check::Finish("gateway_test --write-seeds");
  }
  TestHeads();
  TestTargets();
  TestJsNumber();
  TestEvaluate();
  return check::Finish("gateway_test");
}
