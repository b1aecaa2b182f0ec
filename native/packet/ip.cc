#include "packet/ip.h"

#include "common/bytes.h"

namespace sonde {
namespace {

// Version, IHL and fragment offset: what both checks ask of any IPv4 header.
bool ReadCommon(const uint8_t* p, size_t len, Ip4Header* out) {
  if (p == nullptr || len < kIp4HeaderLen || (p[0] >> 4) != 4) return false;
  out->header_len = static_cast<size_t>(p[0] & 0x0f) * 4;
  if (out->header_len < kIp4HeaderLen) return false;
  if ((Get16(p + 6) & 0x1fff) != 0) return false;  // a later fragment: no transport header follows
  out->proto = p[9];
  out->ttl = p[8];
  out->src = p + 12;
  out->dst = p + 16;
  return true;
}

}  // namespace

bool ReadIp4Header(const uint8_t* p, size_t len, Ip4Header* out) {
  *out = Ip4Header{};
  if (!ReadCommon(p, len, out)) return false;
  size_t tot = Get16(p + 2);
  if (tot < out->header_len || tot > len) return false;  // a truncated read or a lying header
  out->total_len = tot;
  return true;
}

bool ReadQuotedIp4Header(const uint8_t* p, size_t len, size_t min_l4, Ip4Header* out) {
  *out = Ip4Header{};
  if (!ReadCommon(p, len, out) || len < out->header_len + min_l4) return false;
  size_t tot = Get16(p + 2);
  out->total_len = tot >= out->header_len + min_l4 && tot < len ? tot : len;
  return true;
}

bool ReadQuotedIp6Header(const uint8_t* p, size_t len, size_t min_l4, Ip6Header* out) {
  *out = Ip6Header{};
  if (p == nullptr || len < kIp6HeaderLen + min_l4 || (p[0] >> 4) != 6) return false;
  size_t plen = Get16(p + 4);
  out->total_len = plen >= min_l4 && kIp6HeaderLen + plen < len ? kIp6HeaderLen + plen : len;
  out->next_header = p[6];
  out->hop_limit = p[7];
  out->src = p + 8;
  out->dst = p + 24;
  return true;
}

}  // namespace sonde
