// The harness of the native unit tests (plain C++, no framework): CHECK counts failures and says
// where, Finish reports and gives the exit status, SeedDir/WriteSeed serve `--write-seeds DIR`,
// with which each test writes its fuzzer's seed corpus from the packets it builds.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace check {

inline int failures = 0;

inline void Fail(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", file, line, what);
  failures++;
}

// Prints "<name>: ok" and returns 0, or reports the failures and returns 1 (main's exit status).
inline int Finish(const char* name) {
  if (failures != 0) {
    std::fprintf(stderr, "%s: %d check(s) failed\n", name, failures);
    return 1;
  }
  std::printf("%s: ok\n", name);
  return 0;
}

// The DIR of `--write-seeds DIR`, or nullptr when the test should run its checks.
inline const char* SeedDir(int argc, char** argv) {
  return argc == 3 && std::string(argv[1]) == "--write-seeds" ? argv[2] : nullptr;
}

// Writes one seed file: the selector byte (the harness's choice of parser) unless it is negative,
// then the bytes. A seed that cannot be written fails the run.
inline void WriteSeed(const std::string& path, int selector, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::perror(path.c_str());
    failures++;
    return;
  }
  if (selector >= 0) std::fputc(selector, f);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

// The RFC 1071 4.1 reference loop, byte pair by byte pair, folded: an oracle written apart from
// native/checksum.cc, so a test of a checksum never checks the implementation against itself.
inline uint32_t ReferenceSum(const uint8_t* d, size_t n, uint32_t s) {
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>((d[i] << 8) | d[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(d[n - 1]) << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return s;
}

}  // namespace check

#define CHECK(cond)                                   \
  do {                                                 \
    if (!(cond)) check::Fail(__FILE__, __LINE__, #cond); \
  } while (0)
