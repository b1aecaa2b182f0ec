// Unit tests of the HTTP/1.x response parser: a table of responses, each parsed whole, one byte at
// a time and in every two-piece split, which must all agree (the parser is incremental).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "stream/http_parse.h"

using sonde::HttpParseError;
using sonde::HttpParseStatus;
using sonde::HttpResponseParser;

namespace {

struct Case {
  const char* what;
  std::string input;
  bool eof;             // the peer closes after the input
  bool head;            // the request was HEAD
  uint64_t limit;       // body limit, 0 none
  HttpParseStatus want;
  HttpParseError err;
  int code;
  int minor;
  int64_t content_length;
  uint64_t body;
};

const Case kCases[] = {
    {"content-length body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, false, 0,
     HttpParseStatus::kDone, HttpParseError::kNone, 200, 1, 5, 5},
    {"bytes after a complete body are not consumed", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiXX", false, false, 0,
     HttpParseStatus::kDone, HttpParseError::kNone, 200, 1, 2, 2},
    {"chunked body with extension and trailer",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n", false,
     false, 0, HttpParseStatus::kDone, HttpParseError::kNone, 200, 1, -1, 9},
    {"chunked wins over content-length", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
     false, false, 0, HttpParseStatus::kDone, HttpParseError::kNone, 200, 1, -1, 1},
    {"non-chunked transfer coding reads until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", true, false, 0,
     HttpParseStatus::kDone, HttpParseError::kNone, 200, 1, -1, 3},
    {"body until close on HTTP/1.0", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nabcdef", true, false, 0, HttpParseStatus::kDone,
     HttpParseError::kNone, 200, 0, -1, 6},
    {"body until close still open needs more", "HTTP/1.0 200 OK\r\n\r\nabc", false, false, 0,
     HttpParseStatus::kNeedMore, HttpParseError::kNone, 200, 0, -1, 3},
    {"bare LF line endings are accepted", "HTTP/1.1 404 Not Found\nContent-Length: 0\n\n", false, false, 0,
     HttpParseStatus::kDone, HttpParseError::kNone, 404, 1, 0, 0},
    {"status line without reason", "HTTP/1.1 204\r\n\r\n", false, false, 0, HttpParseStatus::kDone, HttpParseError::kNone,
     204, 1, -1, 0},
    {"304 has no body whatever the length says", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, false, 0,
     HttpParseStatus::kDone, HttpParseError::kNone, 304, 1, 10, 0},
    {"HEAD response has no body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", false, true, 0, HttpParseStatus::kDone,
     HttpParseError::kNone, 200, 1, 10, 0},
    {"100 continue is skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", false,
     false, 0, HttpParseStatus::kDone, HttpParseError::kNone, 201, 1, 1, 1},
    {"identical content-length list", "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc", false, false, 0,
     HttpParseStatus::kDone, HttpParseError::kNone, 200, 1, 3, 3},
    {"body at the limit is fine", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", false, false, 4,
     HttpParseStatus::kDone, HttpParseError::kNone, 200, 1, 4, 4},
    {"body over the limit", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde", false, false, 4, HttpParseStatus::kError,
     HttpParseError::kBodyTooLarge, 200, 1, 5, 4},
    {"chunked body over the limit", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\nabc\r\n", false,
     false, 5, HttpParseStatus::kError, HttpParseError::kBodyTooLarge, 200, 1, -1, 5},
    {"malformed status line", "HTTX/1.1 200 OK\r\n\r\n", false, false, 0, HttpParseStatus::kError,
     HttpParseError::kStatusLine, 0, -1, -1, 0},
    {"HTTP/2 status line", "HTTP/2.0 200 OK\r\n\r\n", false, false, 0, HttpParseStatus::kError, HttpParseError::kStatusLine,
     0, -1, -1, 0},
    {"two-digit status code", "HTTP/1.1 20 OK\r\n\r\n", false, false, 0, HttpParseStatus::kError,
     HttpParseError::kStatusLine, 20, 1, -1, 0},
    {"bare CR in status line", "HTTP/1.1 200 OK\rX\n\r\n", false, false, 0, HttpParseStatus::kError,
     HttpParseError::kStatusLine, 200, 1, -1, 0},
    {"obs-fold is rejected", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", false, false, 0, HttpParseStatus::kError,
     HttpParseError::kHeaderSyntax, 200, 1, -1, 0},
    {"space before colon is rejected", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", false, false, 0,
     HttpParseStatus::kError, HttpParseError::kHeaderSyntax, 200, 1, -1, 0},
    {"NUL in a value is rejected", std::string("HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n", 27), false, false, 0,
     HttpParseStatus::kError, HttpParseError::kHeaderSyntax, 200, 1, -1, 0},
    {"conflicting content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false, false, 0,
     HttpParseStatus::kError, HttpParseError::kContentLength, 200, 1, 1, 0},
    {"non-numeric content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", false, false, 0,
     HttpParseStatus::kError, HttpParseError::kContentLength, 200, 1, -1, 0},
    {"huge content-length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", false, false, 0,
     HttpParseStatus::kError, HttpParseError::kContentLength, 200, 1, -1, 0},
    {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, false, 0,
     HttpParseStatus::kError, HttpParseError::kChunkSyntax, 200, 1, -1, 0},
    {"chunk data longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", false, false, 0,
     HttpParseStatus::kError, HttpParseError::kChunkSyntax, 200, 1, -1, 1},
    {"overlong chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", false, false, 0,
     HttpParseStatus::kError, HttpParseError::kChunkSyntax, 200, 1, -1, 0},
    {"close inside a content-length body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", true, false, 0,
     HttpParseStatus::kError, HttpParseError::kTruncated, 200, 1, 9, 3},
    {"close before anything", "", true, false, 0, HttpParseStatus::kError, HttpParseError::kTruncated, 0, -1, -1, 0},
    {"close inside the head", "HTTP/1.1 200 OK\r\nA: b", true, false, 0, HttpParseStatus::kError, HttpParseError::kTruncated,
     200, 1, -1, 0},
};


void Check(bool ok, const Case& c, const char* how, const char* field) {
  if (ok) return;
  check::failures++;
  std::fprintf(stderr, "FAIL %s (%s): %s\n", c.what, how, field);
}

// Feeds input in pieces of at most `step` bytes after an initial piece of `first` bytes.
void Run(const Case& c, size_t first, size_t step, const char* how) {
  char cap[64];
  HttpResponseParser p;
  p.Reset(c.head, c.limit, cap, sizeof(cap));
  size_t off = 0;
  HttpParseStatus st = HttpParseStatus::kNeedMore;
  size_t piece = first;
  while (off < c.input.size() && st == HttpParseStatus::kNeedMore) {
    size_t n = piece < c.input.size() - off ? piece : c.input.size() - off;
    size_t used = 0;
    st = p.Feed(c.input.data() + off, n, &used);
    if (used > n) Check(false, c, how, "used > n");
    if (st == HttpParseStatus::kNeedMore && used != n) Check(false, c, how, "NeedMore but not all used");
    off += used;
    piece = step;
  }
  if (c.eof && st == HttpParseStatus::kNeedMore) st = p.Finish();
  Check(st == c.want, c, how, "status");
  Check(p.error() == c.err, c, how, sonde::HttpParseErrorName(p.error()));
  Check(p.status_code() == c.code, c, how, "code");
  Check(p.version_minor() == c.minor, c, how, "minor");
  if (c.err != HttpParseError::kContentLength) Check(p.content_length() == c.content_length, c, how, "content_length");
  Check(p.body_bytes() == c.body, c, how, "body bytes");
  Check(p.captured() <= sizeof(cap), c, how, "capture bound");
}

void TestCaptureHoldsTheFinalHead() {
  const std::string in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n";
  char cap[256];
  HttpResponseParser p;
  p.Reset(false, 0, cap, sizeof(cap));
  size_t used = 0;
  p.Feed(in.data(), in.size(), &used);
  std::string got(cap, p.captured());
  if (got != "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n") {
    check::failures++;
    std::fprintf(stderr, "FAIL capture holds the final head: got [%s]\n", got.c_str());
  }
}

void TestHeadLimit() {
  std::string in = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 2000; i++) in += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  HttpResponseParser p;
  p.Reset(false, 0, nullptr, 0);
  size_t used = 0;
  if (p.Feed(in.data(), in.size(), &used) != HttpParseStatus::kError ||
      p.error() != HttpParseError::kHeadersTooLarge) {
    check::failures++;
    std::fprintf(stderr, "FAIL a head over 64 KiB is an error\n");
  }
}

// The fuzzer's seeds (fuzz/http_parse.cc: the first byte picks HEAD, body limit and piece size):
// a chunked body with an extension and a trailer; an interim 100 and a repeated Content-Length.
void WriteSeeds(const std::string& dir) {
  auto seed = [](const std::string& text) { return std::vector<uint8_t>(text.begin(), text.end()); };
  check::WriteSeed(dir + "/chunked", 0,
                   seed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nwiki\r\n0\r\nT: 1\r\n\r\n"));
  check::WriteSeed(dir + "/length", 2,
                   seed("HTTP/1.0 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc"));
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* dir = check::SeedDir(argc, argv)) {
    WriteSeeds(dir);
    return check::Finish("http_parse_test --write-seeds");
  }
  int cases = 0;
  for (const Case& c : kCases) {
    Run(c, c.input.size() + 1, 1, "whole");
    Run(c, 1, 1, "byte by byte");
    for (size_t split = 1; split < c.input.size(); split++) Run(c, split, c.input.size(), "two pieces");
    cases++;
  }
  TestCaptureHoldsTheFinalHead();
  TestHeadLimit();
  std::printf("http_parse_test: %d table cases\n", cases);
  return check::Finish("http_parse_test");
}
