#include "common/checksum.h"

#include <cstring>

namespace sonde {
namespace {

uint32_t Fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}

}  // namespace

uint32_t ChecksumPartial(const uint8_t* data, size_t len, uint32_t sum) {
  // RFC 1071 2(A, B, C): the one's complement sum is independent of byte order and can add wider
  // words with deferred carries. So 32-bit words are loaded in host order with memcpy (no aliasing
  // or alignment assumptions about the buffer) into a 64-bit accumulator, which cannot overflow
  // for any packet (2^32 words of < 2^32 each), folded once, and swapped to network order once.
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    uint32_t w;
    std::memcpy(&w, data + i, 4);
    acc += w;
  }
  uint8_t tail[4] = {};  // the last 0..3 bytes, zero-padded to a whole word (RFC 1071 4.1)
  if (len > i) std::memcpy(tail, data + i, len - i);
  uint32_t w;
  std::memcpy(&w, tail, 4);
  acc += w;
  uint32_t host = Fold(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  host = static_cast<uint32_t>(__builtin_bswap16(static_cast<uint16_t>(host)));
#endif
  return Fold(static_cast<uint64_t>(sum) + host);
}

uint16_t ChecksumFinish(uint32_t sum) { return static_cast<uint16_t>(~Fold(sum) & 0xffff); }

uint32_t PseudoHeaderSum(int family, const uint8_t* src, const uint8_t* dst, uint8_t proto, size_t len) {
  size_t alen = family == 4 ? 4 : 16;
  uint32_t s = ChecksumPartial(src, alen, 0);
  s = ChecksumPartial(dst, alen, s);
  return s + proto + static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff);
}

}  // namespace sonde
