// Unit tests of native/syn/permutation.cc: the order of a scan visits every index of the space
// exactly once, for every size and seed tried and for shards of it; ScanSpace maps indices to
// (address, port) and back. No N-API, no sockets.
#include <cstring>
#include <vector>

#include "check.h"
#include "syn/permutation.h"

using namespace sonde;

static void TestCoverage() {
  for (uint64_t n : {1ull, 2ull, 3ull, 4ull, 5ull, 7ull, 16ull, 17ull, 255ull, 1000ull, 65535ull, 100003ull}) {
    for (uint64_t seed : {0ull, 1ull, 0xfeedfacecafebeefull}) {
      Permutation perm(n, seed);
      std::vector<uint8_t> seen(n, 0);
      bool ok = true;
      for (uint64_t p = 0; p < n; p++) {
        uint64_t i = perm.Forward(p);
        if (i >= n || seen[i]++ != 0 || perm.Inverse(i) != p) ok = false;
      }
      CHECK(ok);
      // Shards i/k take positions p ≡ i (mod k): together exactly once.
      for (uint64_t k : {2ull, 3ull, 7ull}) {
        std::vector<uint8_t> hit(n, 0);
        for (uint64_t s = 0; s < k; s++)
          for (uint64_t p = s; p < n; p += k) hit[perm.Forward(p)]++;
        bool once = true;
        for (uint8_t h : hit) once = once && h == 1;
        CHECK(once);
      }
    }
  }
  // The same seed, the same order; another seed, another order.
  Permutation a(100000, 42), b(100000, 42), c(100000, 43);
  int same = 0, differ = 0;
  for (uint64_t p = 0; p < 1000; p++) {
    same += a.Forward(p) == b.Forward(p);
    differ += a.Forward(p) != c.Forward(p);
  }
  CHECK(same == 1000 && differ > 900);
  // Spread: consecutive positions do not visit consecutive indices.
  int adjacent = 0;
  for (uint64_t p = 0; p + 1 < 10000; p++) adjacent += a.Forward(p + 1) == a.Forward(p) + 1;
  CHECK(adjacent < 10);
  // A large space: the walk stays in range and inverts.
  Permutation big(uint64_t{1} << 40 | 12345, 7);
  for (uint64_t p = 0; p < 10000; p++) {
    uint64_t i = big.Forward(p * 999983);
    CHECK(i < big.size() && big.Inverse(i) == p * 999983);
  }
}

static void TestSpace() {
  std::vector<SpaceRun> runs(3);
  runs[0].family = 4;
  runs[0].first[0] = 198, runs[0].first[1] = 18, runs[0].first[2] = 0, runs[0].first[3] = 254;
  runs[0].count = 4;  // 198.18.0.254 .. 198.18.1.1: crosses an octet
  runs[1].family = 6;
  runs[1].first[0] = 0xfd, runs[1].first[1] = 0x5e, runs[1].first[2] = 0xed;
  std::memset(runs[1].first + 8, 0xff, 8);  // ...:ffff:ffff:ffff:ffff: the increment carries into the upper half
  runs[1].count = 2;
  runs[2].family = 4;
  runs[2].first[0] = 127, runs[2].first[3] = 1;
  runs[2].count = 1;
  ScanSpace sp;
  std::string err;
  CHECK(sp.Init(runs, {{22, 22}, {80, 81}, {65535, 65535}}, &err));
  CHECK(sp.size() == 7 * 4 && sp.ports() == 4);
  uint8_t fam, addr[16];
  uint16_t port;
  sp.At(0, &fam, addr, &port);
  CHECK(fam == 4 && addr[3] == 254 && port == 22);
  sp.At(4 * 2 + 3, &fam, addr, &port);  // address 2 = 198.18.1.0, port 3 = 65535
  CHECK(fam == 4 && addr[2] == 1 && addr[3] == 0 && port == 65535);
  sp.At(4 * 5 + 1, &fam, addr, &port);  // address 5 = the second IPv6 one
  CHECK(fam == 6 && addr[7] == 1 && addr[8] == 0 && addr[15] == 0 && port == 80);
  for (uint64_t i = 0; i < sp.size(); i++) {
    uint64_t back = ~0ull;
    sp.At(i, &fam, addr, &port);
    CHECK(sp.IndexOf(fam, addr, port, &back) && back == i);
  }
  uint64_t x;
  uint8_t out[16] = {198, 18, 1, 2};
  CHECK(!sp.IndexOf(4, out, 22, &x));  // past the run
  uint8_t in[16] = {198, 18, 1, 1};
  CHECK(!sp.IndexOf(4, in, 23, &x) && !sp.IndexOf(6, in, 22, &x) && sp.IndexOf(4, in, 81, &x));
  // Refusals.
  CHECK(!sp.Init(runs, {}, &err));
  CHECK(!sp.Init(runs, {{80, 79}}, &err));
  CHECK(!sp.Init(runs, {{80, 90}, {85, 95}}, &err));
  CHECK(!sp.Init(runs, {{0, 10}}, &err));
  std::vector<SpaceRun> overlap = {runs[0], runs[0]};
  CHECK(!sp.Init(overlap, {{1, 1}}, &err));
  SpaceRun end;
  end.family = 4;
  std::memset(end.first, 0xff, 4);
  end.count = 2;
  CHECK(!sp.Init({end}, {{1, 1}}, &err));
  end.count = 1;
  CHECK(sp.Init({end}, {{1, 65535}}, &err) && sp.size() == 65535);
}

int main() {
  TestCoverage();
  TestSpace();
  return check::Finish("permutation_test");
}
