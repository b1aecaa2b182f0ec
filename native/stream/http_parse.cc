// HTTP/1.x response parsing, byte by byte for the head (it is small) and in runs for the body.
// Grammar references are RFC 9112 (message syntax) and RFC 9110 (semantics).
#include "stream/http_parse.h"

#include <cstring>

namespace sonde {

namespace {

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_"
//                         / "`" / "|" / "~" / DIGIT / ALPHA
bool IsTchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// RFC 9110 5.5: field-vchar = VCHAR / obs-text, plus SP and HTAB inside a value. Any other
// control byte (NUL, bare CR, DEL...) makes the message invalid.
bool IsValueByte(unsigned char c) { return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f); }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// Far above any real body, and small enough that n*10+9 cannot overflow int64.
constexpr int64_t kMaxContentLength = int64_t{1} << 53;
// A chunk-size line with extensions longer than this is an attack, not a response.
constexpr uint32_t kMaxChunkExt = 4096;

}  // namespace

const char* HttpParseErrorName(HttpParseError e) {
  switch (e) {
    case HttpParseError::kNone: return "none";
    case HttpParseError::kStatusLine: return "status_line";
    case HttpParseError::kHeaderSyntax: return "header_syntax";
    case HttpParseError::kHeadersTooLarge: return "headers_too_large";
    case HttpParseError::kContentLength: return "content_length";
    case HttpParseError::kChunkSyntax: return "chunk_syntax";
    case HttpParseError::kTruncated: return "truncated";
    case HttpParseError::kBodyTooLarge: return "body_too_large";
  }
  return "unknown";
}

void HttpResponseParser::Reset(bool head_request, uint64_t body_limit, char* capture, size_t capture_max,
                               size_t max_header_bytes) {
  *this = HttpResponseParser();
  head_request_ = head_request;
  body_limit_ = body_limit;
  cap_ = capture;
  cap_max_ = capture ? capture_max : 0;
  max_head_ = max_header_bytes;
}

HttpParseStatus HttpResponseParser::Fail(HttpParseError e) {
  state_ = kError;
  error_ = e;
  status_ = HttpParseStatus::kError;
  return status_;
}

bool HttpResponseParser::AddBody(uint64_t n) {
  if (body_limit_ != 0 && n > body_limit_ - body_bytes_) {
    body_bytes_ = body_limit_;
    return false;
  }
  body_bytes_ += n;
  return true;
}

HttpParseStatus HttpResponseParser::Feed(const char* p, size_t n, size_t* used) {
  size_t i = 0;
  while (i < n && status_ == HttpParseStatus::kNeedMore) {
    switch (state_) {
      case kBodyIdentity:
      case kChunkData: {
        uint64_t take = n - i < remaining_ ? n - i : remaining_;
        if (!AddBody(take)) {
          Fail(HttpParseError::kBodyTooLarge);
          break;
        }
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          if (state_ == kChunkData) {
            state_ = kChunkDataEnd;
          } else {
            state_ = kDone;
            status_ = HttpParseStatus::kDone;
          }
        }
        break;
      }
      case kBodyUntilClose:
        if (!AddBody(n - i)) {
          Fail(HttpParseError::kBodyTooLarge);
          break;
        }
        i = n;
        break;
      case kChunkSize:
      case kChunkExt:
      case kChunkDataEnd:
      case kTrailerStart:
      case kTrailer:
        ChunkByte(p[i++]);
        break;
      case kDone:
      case kError:
        break;
      default: {  // the head
        char c = p[i++];
        if (++head_bytes_ > max_head_) {
          Fail(HttpParseError::kHeadersTooLarge);
          break;
        }
        if (cap_len_ < cap_max_) cap_[cap_len_++] = c;
        HeadByte(c);
        break;
      }
    }
  }
  *used = i;
  return status_;
}

HttpParseStatus HttpResponseParser::Finish() {
  if (status_ != HttpParseStatus::kNeedMore) return status_;
  // RFC 9112 6.3 item 8: without Content-Length or chunked coding the body ends at close.
  if (state_ == kBodyUntilClose) {
    state_ = kDone;
    status_ = HttpParseStatus::kDone;
    return status_;
  }
  return Fail(HttpParseError::kTruncated);
}

HttpParseStatus HttpResponseParser::HeadByte(char c) {
  HttpParseError bad = state_ <= kReason ? HttpParseError::kStatusLine : HttpParseError::kHeaderSyntax;
  // RFC 9112 2.2: a line ends with CRLF; a bare LF may be accepted, a bare CR may not.
  if (cr_) {
    if (c != '\n') return Fail(bad);
    cr_ = false;
    return EndOfLine();
  }
  if (c == '\r') {
    cr_ = true;
    return status_;
  }
  if (c == '\n') return EndOfLine();
  unsigned char u = static_cast<unsigned char>(c);
  switch (state_) {
    case kVersion: {
      // RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT; only major version 1 is ours.
      static const char kPrefix[] = "HTTP/1.";
      if (pos_ < 7) {
        if (c != kPrefix[pos_]) return Fail(bad);
      } else if (pos_ == 7) {
        if (c < '0' || c > '9') return Fail(bad);
        minor_ = c - '0';
      } else if (c == ' ') {
        state_ = kCode;
        pos_ = 0;
        return status_;
      } else {
        return Fail(bad);
      }
      pos_++;
      return status_;
    }
    case kCode:
      // RFC 9110 15: a three-digit code, 100 to 599 in use; a leading 0 is never valid.
      if (c < '0' || c > '9' || (pos_ == 0 && c == '0')) return Fail(bad);
      code_ = code_ * 10 + (c - '0');
      if (++pos_ == 3) state_ = kAfterCode;
      return status_;
    case kAfterCode:
      if (c != ' ') return Fail(bad);
      state_ = kReason;
      return status_;
    case kReason:
      if (!IsValueByte(u)) return Fail(bad);
      return status_;
    case kLineStart:
      // RFC 9112 5.2: obs-fold (a line starting with whitespace) is rejected, not unfolded.
      if (!IsTchar(u)) return Fail(bad);
      state_ = kName;
      pos_ = 0;
      [[fallthrough]];
    case kName:
      if (c == ':') {
        field_ = 0;
        if (pos_ == 14 && std::memcmp(name_, "content-length", 14) == 0) field_ = 1;
        if (pos_ == 17 && std::memcmp(name_, "transfer-encoding", 17) == 0) field_ = 2;
        val_len_ = 0;
        state_ = kValueLead;
        return status_;
      }
      // RFC 9112 5.1: whitespace between the name and the colon must be rejected.
      if (!IsTchar(u)) return Fail(bad);
      if (pos_ < sizeof(name_)) name_[pos_] = Lower(c);
      if (pos_ < 0xffff) pos_++;
      return status_;
    case kValueLead:
      if (IsOws(c)) return status_;
      state_ = kValue;
      [[fallthrough]];
    case kValue:
      if (!IsValueByte(u)) return Fail(bad);
      if (field_ != 0) {
        if (val_len_ >= sizeof(val_)) {
          return Fail(field_ == 1 ? HttpParseError::kContentLength : HttpParseError::kHeaderSyntax);
        }
        val_[val_len_++] = c;
      }
      return status_;
    default:
      return Fail(HttpParseError::kHeaderSyntax);
  }
}

HttpParseStatus HttpResponseParser::EndOfLine() {
  switch (state_) {
    case kAfterCode:  // "HTTP/1.1 200" with no reason at all: tolerated, as Go and nginx do
    case kReason:
      state_ = kLineStart;
      return status_;
    case kLineStart:
      return EndOfHead();
    case kValueLead:
    case kValue:
      return EndOfField();
    case kVersion:
    case kCode:
      return Fail(HttpParseError::kStatusLine);
    default:
      return Fail(HttpParseError::kHeaderSyntax);
  }
}

HttpParseStatus HttpResponseParser::EndOfField() {
  state_ = kLineStart;
  uint32_t len = val_len_;
  while (len > 0 && IsOws(val_[len - 1])) len--;
  if (field_ == 1) {
    // RFC 9110 8.6: a list of identical values ("42, 42") may be taken as one; anything else
    // that is not a single decimal number makes the framing unknowable.
    int64_t value = -1;
    uint32_t i = 0;
    while (i <= len) {
      while (i < len && IsOws(val_[i])) i++;
      int64_t v = 0;
      uint32_t digits = 0;
      while (i < len && val_[i] >= '0' && val_[i] <= '9') {
        v = v * 10 + (val_[i] - '0');
        if (v > kMaxContentLength) return Fail(HttpParseError::kContentLength);
        i++;
        digits++;
      }
      while (i < len && IsOws(val_[i])) i++;
      if (digits == 0 || (value >= 0 && v != value)) return Fail(HttpParseError::kContentLength);
      value = v;
      if (i == len) break;
      if (val_[i] != ',') return Fail(HttpParseError::kContentLength);
      i++;
    }
    if (cl_present_ && value != content_length_) return Fail(HttpParseError::kContentLength);
    cl_present_ = true;
    content_length_ = value;
  } else if (field_ == 2) {
    // RFC 9112 6.3 item 4: for a response, chunked as the final coding frames the body; any other
    // final coding means the body runs until close. The last field line's last coding decides.
    te_present_ = true;
    uint32_t start = len;
    while (start > 0 && val_[start - 1] != ',') start--;
    while (start < len && IsOws(val_[start])) start++;
    chunked_ = len - start == 7;
    for (uint32_t k = 0; chunked_ && k < 7; k++) chunked_ = Lower(val_[start + k]) == "chunked"[k];
  }
  field_ = 0;
  return status_;
}

HttpParseStatus HttpResponseParser::EndOfHead() {
  // RFC 9110 15.2: 1xx responses other than 101 are interim; the final response follows.
  if (code_ >= 100 && code_ < 200 && code_ != 101) {
    size_t head = head_bytes_;
    HttpResponseParser fresh;
    fresh.Reset(head_request_, body_limit_, cap_, cap_max_, max_head_);
    *this = fresh;
    head_bytes_ = head;  // the head limit covers the interim responses too
    return status_;
  }
  // RFC 9112 6.3 items 1-2: no body after HEAD, 1xx, 204 and 304 whatever the fields say.
  if (head_request_ || code_ < 200 || code_ == 204 || code_ == 304) {
    state_ = kDone;
    status_ = HttpParseStatus::kDone;
    return status_;
  }
  if (te_present_) {
    state_ = chunked_ ? kChunkSize : kBodyUntilClose;
    hex_digits_ = 0;
    remaining_ = 0;
  } else if (cl_present_) {
    remaining_ = static_cast<uint64_t>(content_length_);
    state_ = kBodyIdentity;
    if (remaining_ == 0) {
      state_ = kDone;
      status_ = HttpParseStatus::kDone;
    }
  } else {
    state_ = kBodyUntilClose;
  }
  return status_;
}

// RFC 9112 7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk = 1*"0"
// [ chunk-ext ] CRLF; then trailer fields and a final CRLF.
HttpParseStatus HttpResponseParser::ChunkByte(char c) {
  const HttpParseError bad = HttpParseError::kChunkSyntax;
  bool line_end = false;
  if (cr_) {
    if (c != '\n') return Fail(bad);
    cr_ = false;
    line_end = true;
  } else if (c == '\n') {
    line_end = true;
  } else if (c == '\r') {
    cr_ = true;
    return status_;
  }
  if (state_ == kTrailerStart || state_ == kTrailer) {
    if (++head_bytes_ > max_head_) return Fail(HttpParseError::kHeadersTooLarge);
  }
  if (line_end) {
    switch (state_) {
      case kChunkSize:
      case kChunkExt:
        if (hex_digits_ == 0) return Fail(bad);
        state_ = remaining_ == 0 ? kTrailerStart : kChunkData;
        return status_;
      case kChunkDataEnd:
        state_ = kChunkSize;
        hex_digits_ = 0;
        remaining_ = 0;
        return status_;
      case kTrailerStart:
        state_ = kDone;
        status_ = HttpParseStatus::kDone;
        return status_;
      default:  // kTrailer: a trailer field needs its colon
        if (pos_ == 0) return Fail(bad);
        state_ = kTrailerStart;
        return status_;
    }
  }
  unsigned char u = static_cast<unsigned char>(c);
  switch (state_) {
    case kChunkSize: {
      int h = HexValue(c);
      if (h >= 0) {
        // 15 hex digits stay below 2^60: no overflow, and far beyond any body limit.
        if (hex_digits_ >= 15) return Fail(bad);
        remaining_ = remaining_ * 16 + static_cast<uint64_t>(h);
        hex_digits_++;
        return status_;
      }
      if (hex_digits_ == 0 || (c != ';' && !IsOws(c))) return Fail(bad);
      state_ = kChunkExt;
      ext_len_ = 0;
      return status_;
    }
    case kChunkExt:
      if (++ext_len_ > kMaxChunkExt || !IsValueByte(u)) return Fail(bad);
      return status_;
    case kChunkDataEnd:
      return Fail(bad);  // chunk data longer than its size said
    case kTrailerStart:
      if (!IsTchar(u)) return Fail(bad);
      state_ = kTrailer;
      pos_ = 0;
      return status_;
    default:  // kTrailer
      if (pos_ == 0) {
        if (c == ':') pos_ = 1;
        else if (!IsTchar(u)) return Fail(bad);
      } else if (!IsValueByte(u)) {
        return Fail(bad);
      }
      return status_;
  }
}

}  // namespace sonde
