// Router Solicitation building and Router Advertisement parsing (RFC 4861 §4.1, §4.2, §4.6;
// RFC 4191; RFC 8106). Every read is preceded by a bounds check; a malformed option body is
// ignored as the RFCs require, a malformed option framing discards the whole message.
#include "packet/ndp.h"

#include <cstring>

#include "common/bytes.h"

namespace sonde {
namespace {

constexpr uint8_t kTypeRouterSolicit = 133;
constexpr uint8_t kTypeRouterAdvert = 134;
constexpr size_t kRaHeaderLen = 16;

constexpr uint8_t kOptSourceLladdr = 1;
constexpr uint8_t kOptPrefixInfo = 3;
constexpr uint8_t kOptMtu = 5;
constexpr uint8_t kOptRouteInfo = 24;
constexpr uint8_t kOptRdnss = 25;
constexpr uint8_t kOptDnssl = 31;

// RFC 4191 §2.1 encoding: 01 high, 00 medium, 11 low, 10 reserved.
RouterPreference Preference(uint8_t two_bits) {
  switch (two_bits & 3) {
    case 1: return RouterPreference::kHigh;
    case 3: return RouterPreference::kLow;
    case 2: return RouterPreference::kReserved;
    default: return RouterPreference::kMedium;
  }
}

// `p` points at the option's first byte, `n` = its full length (8 * length field, >= 8).
bool ParsePrefixInfo(const uint8_t* p, size_t n, RaPrefix* out) {
  if (n != 32) return false;  // RFC 4861 §4.6.2: Length is 4
  if (p[2] > 128) return false;
  out->length = p[2];
  out->on_link = (p[3] & 0x80) != 0;
  out->autonomous = (p[3] & 0x40) != 0;
  out->valid_lifetime = Get32(p + 4);
  out->preferred_lifetime = Get32(p + 8);
  std::memcpy(out->prefix.data(), p + 16, 16);
  return true;
}

bool ParseRouteInfo(const uint8_t* p, size_t n, RaRoute* out) {
  // RFC 4191 §2.3: Length 1, 2 or 3, enough to hold Prefix Length bits; reserved Prf: ignore.
  size_t units = n / 8;
  uint8_t plen = p[2];
  if (units > 3 || plen > 128) return false;
  if ((plen > 64 && units < 3) || (plen > 0 && units < 2)) return false;
  out->preference = Preference(static_cast<uint8_t>(p[3] >> 3));
  if (out->preference == RouterPreference::kReserved) return false;
  out->length = plen;
  out->lifetime = Get32(p + 4);
  out->prefix.fill(0);
  std::memcpy(out->prefix.data(), p + 8, n - 8);  // n - 8 is 0, 8 or 16
  return true;
}

bool ParseRdnss(const uint8_t* p, size_t n, RaRdnss* out) {
  // RFC 8106 §5.1: Length is 1 + 2 * (number of addresses), at least 3.
  size_t units = n / 8;
  if (units < 3 || units % 2 == 0) return false;
  out->lifetime = Get32(p + 4);
  for (size_t off = 8; off + 16 <= n; off += 16) {
    Ip6Bytes a;
    std::memcpy(a.data(), p + off, 16);
    out->servers.push_back(a);
  }
  return true;
}

// Appends one label as presentation text (RFC 1035 §5.1: escape what is not a plain character).
void AppendLabel(const uint8_t* s, size_t n, std::string* out) {
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (plain) {
      out->push_back(static_cast<char>(c));
    } else {
      char esc[5] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + (c / 10) % 10),
                     static_cast<char>('0' + c % 10), 0};
      out->append(esc);
    }
  }
}

bool ParseDnssl(const uint8_t* p, size_t n, RaDnssl* out) {
  // RFC 8106 §5.2: Length >= 2; names in uncompressed RFC 1035 §3.1 form, zero-padded.
  if (n < 16) return false;
  out->lifetime = Get32(p + 4);
  size_t pos = 8;
  while (pos < n && p[pos] != 0) {
    std::string name;
    size_t wire = 0;
    for (;;) {
      if (pos >= n) return false;
      uint8_t l = p[pos++];
      wire += 1u + l;
      if (wire > 255) return false;  // RFC 1035 §2.3.4
      if (l == 0) break;
      if (l > 63 || pos + l > n) return false;  // 0xC0 would be a compression pointer: not allowed
      if (!name.empty()) name.push_back('.');
      AppendLabel(p + pos, l, &name);
      pos += l;
    }
    out->domains.push_back(std::move(name));
  }
  for (; pos < n; pos++) {
    if (p[pos] != 0) return false;  // padding must be zeros
  }
  return !out->domains.empty();
}

}  // namespace

const char* RaParseStatusName(RaParseStatus s) {
  switch (s) {
    case RaParseStatus::kOk: return "ok";
    case RaParseStatus::kTooShort: return "too_short";
    case RaParseStatus::kNotAdvert: return "not_router_advertisement";
    case RaParseStatus::kBadCode: return "bad_code";
    case RaParseStatus::kZeroLengthOption: return "zero_length_option";
    case RaParseStatus::kTruncatedOption: return "truncated_option";
  }
  return "unknown";
}

const char* RaEnvelopeStatusName(RaEnvelopeStatus s) {
  switch (s) {
    case RaEnvelopeStatus::kOk: return "ok";
    case RaEnvelopeStatus::kSourceNotLinkLocal: return "source_not_link_local";
    case RaEnvelopeStatus::kHopLimitNot255: return "hop_limit_not_255";
  }
  return "unknown";
}

RaParseStatus ParseRouterAdvert(const uint8_t* data, size_t len, RouterAdvert* out) {
  *out = RouterAdvert();
  if (data == nullptr || len < kRaHeaderLen) return RaParseStatus::kTooShort;
  if (data[0] != kTypeRouterAdvert) return RaParseStatus::kNotAdvert;
  if (data[1] != 0) return RaParseStatus::kBadCode;
  out->cur_hop_limit = data[4];
  uint8_t flags = data[5];
  out->managed = (flags & 0x80) != 0;
  out->other = (flags & 0x40) != 0;
  out->home_agent = (flags & 0x20) != 0;
  out->preference = Preference(static_cast<uint8_t>(flags >> 3));
  out->proxy = (flags & 0x04) != 0;
  out->router_lifetime = Get16(data + 6);
  out->reachable_time = Get32(data + 8);
  out->retrans_timer = Get32(data + 12);

  size_t pos = kRaHeaderLen;
  while (pos < len) {
    if (len - pos < 2) return RaParseStatus::kTruncatedOption;
    uint8_t type = data[pos];
    size_t n = static_cast<size_t>(data[pos + 1]) * 8;
    if (n == 0) return RaParseStatus::kZeroLengthOption;  // RFC 4861 §6.1.2
    if (n > len - pos) return RaParseStatus::kTruncatedOption;
    const uint8_t* p = data + pos;
    bool ok = true;
    switch (type) {
      case kOptSourceLladdr:
        if (out->source_lladdr.empty()) out->source_lladdr.assign(p + 2, p + n);
        break;
      case kOptPrefixInfo: {
        RaPrefix pi;
        ok = ParsePrefixInfo(p, n, &pi);
        if (ok) out->prefixes.push_back(pi);
        break;
      }
      case kOptMtu:
        ok = n == 8;
        if (ok && !out->has_mtu) {
          out->has_mtu = true;
          out->mtu = Get32(p + 4);
        }
        break;
      case kOptRouteInfo: {
        RaRoute r;
        ok = ParseRouteInfo(p, n, &r);
        if (ok) out->routes.push_back(r);
        break;
      }
      case kOptRdnss: {
        RaRdnss r;
        ok = ParseRdnss(p, n, &r);
        if (ok) out->rdnss.push_back(std::move(r));
        break;
      }
      case kOptDnssl: {
        RaDnssl d;
        ok = ParseDnssl(p, n, &d);
        if (ok) out->dnssl.push_back(std::move(d));
        break;
      }
      default:
        out->unknown_options.push_back(type);
    }
    if (!ok) out->ignored_options++;
    pos += n;
  }
  return RaParseStatus::kOk;
}

RaEnvelopeStatus CheckRaEnvelope(const Ip6Bytes& source, int hop_limit) {
  // fe80::/10 (RFC 4291 §2.5.6); routers send RAs from their link-local address only.
  if (!(source[0] == 0xfe && (source[1] & 0xc0) == 0x80)) return RaEnvelopeStatus::kSourceNotLinkLocal;
  // Hop limit 255 proves the sender is on-link: a forwarded packet would have been decremented.
  if (hop_limit != 255) return RaEnvelopeStatus::kHopLimitNot255;
  return RaEnvelopeStatus::kOk;
}

std::vector<uint8_t> BuildRouterSolicitation(const uint8_t* lladdr, size_t lladdr_len) {
  std::vector<uint8_t> b(8, 0);
  b[0] = kTypeRouterSolicit;
  if (lladdr != nullptr && lladdr_len > 0 && lladdr_len <= 253) {
    size_t opt = (2 + lladdr_len + 7) / 8 * 8;
    size_t at = b.size();
    b.resize(at + opt, 0);
    b[at] = kOptSourceLladdr;
    b[at + 1] = static_cast<uint8_t>(opt / 8);
    std::memcpy(&b[at + 2], lladdr, lladdr_len);
  }
  return b;
}

}  // namespace sonde
