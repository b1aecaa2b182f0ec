#include "sys/link_tables.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace sonde {
namespace {

// Bounds on what a sane executable has: a corrupt header must not make us read gigabytes.
constexpr uint16_t kMaxSections = 8192;
constexpr uint64_t kMaxNames = 1 << 20;

bool ReadAt(int fd, void* buf, size_t len, uint64_t off) {
  auto* p = static_cast<uint8_t*>(buf);
  while (len > 0) {
    ssize_t n = pread(fd, p, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    off += static_cast<uint64_t>(n);
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool IsLinkTable(const char* name) {
  return std::strcmp(name, ".dynsym") == 0 || std::strcmp(name, ".dynstr") == 0 || std::strcmp(name, ".gnu.hash") == 0 ||
         std::strcmp(name, ".hash") == 0 || std::strcmp(name, ".gnu.version") == 0;
}

std::vector<AddrRange> Sections(int fd, uintptr_t bias, std::string* error) {
  Elf64_Ehdr eh;
  if (!ReadAt(fd, &eh, sizeof(eh), 0) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    *error = "not a 64-bit ELF file";
    return {};
  }
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shnum > kMaxSections || eh.e_shstrndx >= eh.e_shnum) {
    *error = "no usable section headers";
    return {};
  }
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  if (!ReadAt(fd, sh.data(), sh.size() * sizeof(Elf64_Shdr), eh.e_shoff)) {
    *error = "section headers past the end of the file";
    return {};
  }
  const Elf64_Shdr& names = sh[eh.e_shstrndx];
  if (names.sh_size == 0 || names.sh_size > kMaxNames) {
    *error = "no usable section names";
    return {};
  }
  std::string str(names.sh_size + 1, '\0');  // one NUL past the end: every name is terminated
  if (!ReadAt(fd, str.data(), names.sh_size, names.sh_offset)) {
    *error = "section names past the end of the file";
    return {};
  }
  std::vector<AddrRange> out;
  for (const Elf64_Shdr& s : sh) {
    if (s.sh_name >= names.sh_size || !IsLinkTable(str.c_str() + s.sh_name)) continue;
    // Only what the loader mapped read-only; a section of a writable segment is never dropped.
    if (s.sh_addr == 0 || s.sh_size == 0 || (s.sh_flags & SHF_ALLOC) == 0 || (s.sh_flags & SHF_WRITE) != 0) continue;
    if (s.sh_addr > UINTPTR_MAX - bias - s.sh_size) continue;
    out.push_back({bias + s.sh_addr, bias + s.sh_addr + s.sh_size});
  }
  if (out.empty()) *error = "no dynamic-linking sections";
  return out;
}

// Whole pages only, shrunk inwards: a page shared with a neighbouring section stays.
std::vector<AddrRange> Pages(std::vector<AddrRange> in) {
  std::sort(in.begin(), in.end(), [](const AddrRange& a, const AddrRange& b) { return a.start < b.start; });
  std::vector<AddrRange> merged;
  for (const AddrRange& r : in) {
    if (!merged.empty() && r.start <= merged.back().end) merged.back().end = std::max(merged.back().end, r.end);
    else merged.push_back(r);
  }
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  std::vector<AddrRange> out;
  for (const AddrRange& r : merged) {
    uintptr_t s = (r.start + page - 1) & ~(page - 1), e = r.end & ~(page - 1);
    if (s < e) out.push_back({s, e});
  }
  return out;
}

}  // namespace

std::vector<AddrRange> LinkTablePages(const char* path, uintptr_t bias, std::string* error) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::string(path) + ": " + std::strerror(errno);
    return {};
  }
  std::vector<AddrRange> out = Pages(Sections(fd, bias, error));
  close(fd);
  return out;
}

bool InReadOnlyMapping(const AddrRange& r) {
  FILE* f = std::fopen("/proc/self/maps", "re");
  if (f == nullptr) return false;
  uintptr_t covered = r.start;
  char line[512];
  while (covered < r.end && std::fgets(line, sizeof(line), f) != nullptr) {
    uintptr_t lo = 0, hi = 0;
    char perms[5] = {};
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s", &lo, &hi, perms) != 3) continue;
    if (hi <= covered) continue;
    if (lo > covered) break;  // maps is sorted: a hole in the range
    if (perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p') break;
    covered = hi;
  }
  std::fclose(f);
  return covered >= r.end;
}

size_t ReleaseLinkTablesOf(const char* path, uintptr_t bias, std::string* error) {
  std::vector<AddrRange> pages = LinkTablePages(path, bias, error);
  size_t released = 0;
  for (const AddrRange& r : pages) {
    if (!InReadOnlyMapping(r)) continue;
    if (madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTNEED) == 0) released += r.end - r.start;
  }
  if (released == 0 && error->empty()) *error = "no dynamic-linking table lies in a read-only mapping";
  return released;
}

uintptr_t ExecutableBias() {
  uintptr_t bias = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        *static_cast<uintptr_t*>(data) = info->dlpi_addr;
        return 1;  // the first object only
      },
      &bias);
  return bias;
}

size_t ReleaseLinkTables(std::string* error) { return ReleaseLinkTablesOf("/proc/self/exe", ExecutableBias(), error); }

}  // namespace sonde
