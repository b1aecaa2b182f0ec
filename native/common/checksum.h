// The Internet checksum (RFC 1071), the one implementation every packet builder and parser uses
// (packet/icmp_echo.cc for echo probes, packet/trace.cc for trace probes). Plain C++, no N-API.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sonde {

// One's complement sum of `len` bytes taken as big-endian 16-bit words (an odd last byte is
// padded with zero, RFC 1071 4.1), added to the partial sum `sum` and folded to 16 bits. The
// result is a partial sum again: it can be continued, combined with more words, or finished.
uint32_t ChecksumPartial(const uint8_t* data, size_t len, uint32_t sum);

// Folds a partial sum and complements it: the value to write into a checksum field (big-endian).
uint16_t ChecksumFinish(uint32_t sum);

inline uint16_t InetChecksum(const uint8_t* data, size_t len) { return ChecksumFinish(ChecksumPartial(data, len, 0)); }

// The partial sum of the pseudo-header that TCP, UDP and ICMPv6 checksums cover: RFC 768 /
// RFC 9293 3.1 (IPv4: addresses, zero, protocol, length) and RFC 8200 8.1 (IPv6: addresses,
// upper-layer length, next header). `family` is 4 or 6; src and dst hold 4 or 16 bytes.
uint32_t PseudoHeaderSum(int family, const uint8_t* src, const uint8_t* dst, uint8_t proto, size_t len);

}  // namespace sonde
