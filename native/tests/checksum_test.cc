// Unit tests of native/checksum.cc (RFC 1071): the RFC's own example, then a differential sweep
// against the byte-pair reference loop over every length up to 300, every start offset (the word
// loads must not assume alignment) and partial sums carried in, as the pseudo-header and the
// incremental update (RFC 1624) pass them. Run by `make -C native/tests check`.
#include <random>
#include <vector>

#include "check.h"
#include "common/checksum.h"

using namespace sonde;
using check::ReferenceSum;

static void TestRfc1071Example() {
  // RFC 1071 section 3 example: the one's complement sum of these words is 0xddf2.
  const uint8_t v[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK(ChecksumFinish(ChecksumPartial(v, sizeof(v), 0)) == static_cast<uint16_t>(~0xddf2));
  const uint8_t odd[] = {0x01};
  CHECK(InetChecksum(odd, 1) == static_cast<uint16_t>(~0x0100));
}

static void TestEmptyAndExtremes() {
  CHECK(ChecksumPartial(nullptr, 0, 0) == 0);
  CHECK(ChecksumPartial(nullptr, 0, 0x1fffe) == 0xffff);  // carries fold back in
  std::vector<uint8_t> zeros(64, 0), ones(64, 0xff);
  CHECK(InetChecksum(zeros.data(), zeros.size()) == 0xffff);
  CHECK(InetChecksum(ones.data(), ones.size()) == 0);
  CHECK(ChecksumPartial(ones.data(), ones.size(), 0) == 0xffff);  // -0 stays -0, never 0
}

static void TestMatchesReferenceAtEveryLengthAndOffset() {
  std::mt19937 rng(1071);
  std::vector<uint8_t> buf(300 + 8);
  for (uint8_t& b : buf) b = static_cast<uint8_t>(rng());
  const uint32_t carried[] = {0, 1, 0xffff, 0x10000, 0x2fffd};
  int mismatches = 0;
  for (size_t off = 0; off < 8; off++) {
    for (size_t len = 0; len + off <= buf.size() && len <= 300; len++) {
      for (uint32_t sum : carried) {
        if (ChecksumPartial(buf.data() + off, len, sum) != ReferenceSum(buf.data() + off, len, sum)) mismatches++;
      }
    }
  }
  CHECK(mismatches == 0);
}

static void TestPseudoHeader() {
  const uint8_t s4[4] = {198, 18, 0, 1}, d4[4] = {198, 18, 0, 2};
  CHECK(PseudoHeaderSum(4, s4, d4, 6, 24) == ReferenceSum(s4, 4, ReferenceSum(d4, 4, 0)) + 6 + 24);
  uint8_t s6[16] = {0xfd, 0x5e, 0xed}, d6[16] = {0xfd, 0x5e, 0xed, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  // An upper-layer length above 65535 counts as two 16-bit words (RFC 8200 8.1: 32-bit length).
  CHECK(PseudoHeaderSum(6, s6, d6, 58, 70000) == ReferenceSum(s6, 16, ReferenceSum(d6, 16, 0)) + 58 + 1 + (70000 & 0xffff));
}

int main() {
  TestRfc1071Example();
  TestEmptyAndExtremes();
  TestMatchesReferenceAtEveryLengthAndOffset();
  TestPseudoHeader();
  return check::Finish("checksum_test");
}
