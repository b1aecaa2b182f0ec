// Unit tests of the /probe gateway's request heads: what it takes (and how it hands the query to
// TypeScript) and what it leaves to Node. How its answers compare with Node's is
// test/api/gateway.test.ts.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "gateway/request_head.h"

using namespace sonde;

namespace {

struct HeadCase {
  const char* what;
  std::string in;
  RequestHeadStatus want;
  std::string module, target;
  bool keep_alive;
  bool simple = true;
  std::string query = "";
  std::string timeout = "";
};

const std::vector<HeadCase> kHeads = {
    {"plain", "GET /probe?module=tcp_connect&target=127.0.0.1%3A80 HTTP/1.1\r\nHost: x\r\n\r\n", RequestHeadStatus::kComplete, "tcp_connect", "127.0.0.1:80", true, true, "module=tcp_connect&target=127.0.0.1%3A80"},
    {"order and escapes", "GET /probe?target=http%3A%2F%2F127.0.0.1%3A8080%2F%3Fa%3Db&module=http_2xx HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "http_2xx", "http://127.0.0.1:8080/?a=b", true},
    {"plus is space", "GET /probe?module=a+b&target=t HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "a b", "t", true},
    {"1.0 closes", "GET /probe?module=m&target=t HTTP/1.0\r\n\r\n", RequestHeadStatus::kComplete, "m", "t", false},
    {"1.0 keep-alive", "GET /probe?module=m&target=t HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", RequestHeadStatus::kComplete, "m", "t", true},
    {"close", "GET /probe?module=m&target=t HTTP/1.1\r\nconnection: foo, close\r\n\r\n", RequestHeadStatus::kComplete, "m", "t", false},
    {"incomplete", "GET /probe?module=m&target=t HTTP/1.1\r\nHost: x\r\n", RequestHeadStatus::kIncomplete, "", "", true},
    {"other path", "GET /metrics HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"bare LF line ends", "GET /probe?module=m&target=t HTTP/1.1\nHost: x\n\n", RequestHeadStatus::kOther, "", "", true},
    {"bare LF, head cut short", "GET /probe?module=m&target=t HTTP/1.1\n", RequestHeadStatus::kOther, "", "", true},
    {"CRLF, head cut short", "GET /probe?module=m&target=t HTTP/1.1\r\nHost: x\r\n", RequestHeadStatus::kIncomplete, "", "", true},
    {"prefix path", "GET /probes?module=m&target=t HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"POST", "POST /probe?module=m&target=t HTTP/1.1\r\nContent-Length: 0\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"HEAD", "HEAD /probe?module=m&target=t HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"debug", "GET /probe?module=m&target=t&debug=true HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "", "", true, false, "module=m&target=t&debug=true"},
    {"hostname", "GET /probe?module=m&target=t&hostname=h HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "", "", true, false, "module=m&target=t&hostname=h"},
    {"twice", "GET /probe?module=m&target=t&target=u HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "", "", true, false, "module=m&target=t&target=u"},
    {"bad escape", "GET /probe?module=m&target=%zz HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "", "", true, false, "module=m&target=%zz"},
    {"short escape", "GET /probe?module=m&target=%4 HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "", "", true, false, "module=m&target=%4"},
    {"non-ASCII", "GET /probe?module=m&target=%C3%A9 HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "", "", true, false, "module=m&target=%C3%A9"},
    {"NUL", "GET /probe?module=m%00&target=t HTTP/1.1\r\n\r\n", RequestHeadStatus::kComplete, "", "", true, false, "module=m%00&target=t"},
    {"timeout", "GET /probe?module=m&target=t HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds:  9.5 \r\n\r\n", RequestHeadStatus::kComplete, "m", "t", true, true, "module=m&target=t", "9.5"},
    {"timeout twice", "GET /probe?module=m&target=t HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 1\r\nx-prometheus-scrape-timeout-seconds: 2\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"control in value", "GET /probe?module=m&target=t HTTP/1.1\r\nX-A: a\x01b\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"bad name", "GET /probe?module=m&target=t HTTP/1.1\r\nX(A): b\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
    {"fragment", "GET /probe?module=m#x HTTP/1.1\r\n\r\n", RequestHeadStatus::kOther, "", "", true},
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
    CHECK(h.simple == c.simple);
    if (!c.query.empty() || !c.simple) CHECK(h.query == c.query);  // cases that name their query
    CHECK(h.scrape_timeout == c.timeout);
  }
  std::string pipelined = kHeads[0].in + kHeads[1].in;
  RequestHead h = ParseRequestHead(pipelined.data(), pipelined.size());
  CHECK(h.status == RequestHeadStatus::kComplete && h.head_len == kHeads[0].in.size());
}

void WriteSeeds(const char* dir) {
  int i = 0;
  for (const HeadCase& c : kHeads) {
    check::WriteSeed(std::string(dir) + "/head" + std::to_string(i++), 0, std::vector<uint8_t>(c.in.begin(), c.in.end()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* dir = check::SeedDir(argc, argv)) {
    WriteSeeds(dir);
    return check::Finish("gateway_test --write-seeds");
  }
  TestHeads();
  return check::Finish("gateway_test");
}
