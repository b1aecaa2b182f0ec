// Incremental HTTP/1.x response parser (RFC 9112) for the stream engine. Plain C++, no N-API,
// no allocation: bytes are fed as they arrive, in pieces of any size, and the parser keeps only
// small fixed buffers. The body is counted, never stored. Malformed input is an error with a
// reason; the parser never guesses (no obs-fold, no whitespace before ':', no ambiguous length).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sonde {

enum class HttpParseStatus : uint8_t { kNeedMore, kDone, kError };

// Stable numbers: they cross to JS (src/native/stream.ts names them).
enum class HttpParseError : uint8_t {
  kNone = 0,
  kStatusLine = 1,      // not "HTTP/1.x NNN [reason]"
  kHeaderSyntax = 2,    // bad field name, bad byte in a value, obs-fold, bare CR
  kHeadersTooLarge = 3, // status line + fields over the limit
  kContentLength = 4,   // not digits, conflicting values, or too large
  kChunkSyntax = 5,     // bad chunk size line, missing CRLF after data, bad trailer
  kTruncated = 6,       // the connection ended before the response was complete
  kBodyTooLarge = 7,    // more body bytes than the body limit
};

const char* HttpParseErrorName(HttpParseError e);

class HttpResponseParser {
 public:
  static constexpr size_t kDefaultMaxHeaderBytes = 64 * 1024;

  // Prepares for a new response. head_request: the request was HEAD, so no body follows whatever
  // the fields say (RFC 9112 6.3 item 1). body_limit 0 means no limit. The raw response head
  // (status line and fields, as received) is copied into capture, up to capture_max bytes.
  void Reset(bool head_request, uint64_t body_limit, char* capture, size_t capture_max,
             size_t max_header_bytes = kDefaultMaxHeaderBytes);

  // Consumes up to n bytes. *used says how many were taken (fewer than n only at kDone or kError;
  // bytes after a complete response are not part of it).
  HttpParseStatus Feed(const char* p, size_t n, size_t* used);
  // The peer closed the connection: completes a body delimited by close, else kTruncated.
  HttpParseStatus Finish();

  HttpParseStatus status() const { return status_; }
  HttpParseError error() const { return error_; }
  bool started() const { return head_bytes_ > 0; }
  bool in_body() const { return state_ >= kBodyIdentity && state_ != kDone && state_ != kError; }
  int status_code() const { return code_; }
  int version_minor() const { return minor_; }
  // As blackbox (Go's Response.ContentLength): the Content-Length value, -1 when absent or when
  // the body is chunked.
  int64_t content_length() const { return chunked_ || te_present_ ? -1 : content_length_; }
  bool chunked() const { return chunked_; }
  uint64_t body_bytes() const { return body_bytes_; }
  size_t captured() const { return cap_len_; }

 private:
  enum State : uint8_t {
    kVersion, kCode, kAfterCode, kReason, kLineStart, kName, kValueLead, kValue,
    // body states after this point (in_body relies on the order)
    kBodyIdentity, kBodyUntilClose, kChunkSize, kChunkExt, kChunkData, kChunkDataEnd, kTrailerStart,
    kTrailer, kDone, kError,
  };

  HttpParseStatus Fail(HttpParseError e);
  HttpParseStatus HeadByte(char c);
  HttpParseStatus EndOfLine();
  HttpParseStatus EndOfField();
  HttpParseStatus EndOfHead();
  HttpParseStatus ChunkByte(char c);
  bool AddBody(uint64_t n);

  State state_ = kVersion;
  HttpParseStatus status_ = HttpParseStatus::kNeedMore;
  HttpParseError error_ = HttpParseError::kNone;
  bool head_request_ = false;
  bool cr_ = false;          // the previous byte was CR: only LF may follow
  bool chunked_ = false;
  bool te_present_ = false;
  bool cl_present_ = false;
  uint8_t field_ = 0;        // which field is being read: 0 other, 1 content-length, 2 transfer-encoding
  int code_ = 0;
  int minor_ = -1;
  uint32_t pos_ = 0;         // position inside the version text / code digits / field name
  uint32_t ext_len_ = 0;     // bytes of chunk extension or trailer line seen
  uint64_t body_limit_ = 0;
  uint64_t body_bytes_ = 0;
  uint64_t remaining_ = 0;   // of the identity body or the current chunk
  int64_t content_length_ = -1;
  size_t head_bytes_ = 0;
  size_t max_head_ = kDefaultMaxHeaderBytes;
  char* cap_ = nullptr;
  size_t cap_max_ = 0;
  size_t cap_len_ = 0;
  char name_[24] = {};       // lower-cased field name, enough to recognise the two we need
  char val_[256] = {};       // value of a recognised field
  uint32_t val_len_ = 0;
  uint32_t hex_digits_ = 0;
};

}  // namespace sonde
