#include "sys/file_pages.h"

#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace sonde {
namespace {

struct Entry {
  FileMapping map{};
  bool candidate = false;  // what the header line says: private, read-only, a regular file
  bool clean = true;       // no anonymous or swapped page (the Anonymous: and Swap: lines)
};

// "START-END PERMS OFFSET DEV INODE [PATH]": whether it is a header line, and what it says.
bool Header(const char* line, Entry* e) {
  uintptr_t lo = 0, hi = 0;
  char perms[5] = {};
  unsigned long long inode = 0;
  int path_at = 0;
  if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %*s %*s %llu %n", &lo, &hi, perms, &inode, &path_at) != 4) return false;
  const char* path = line + path_at;
  size_t len = std::strcspn(path, "\n");
  static const char kDeleted[] = " (deleted)";
  const bool deleted = len >= sizeof(kDeleted) - 1 && std::strncmp(path + len - (sizeof(kDeleted) - 1), kDeleted, sizeof(kDeleted) - 1) == 0;
  *e = Entry{};
  e->map = {lo, hi, 0};
  e->candidate = lo < hi && inode != 0 && path[0] == '/' && std::strncmp(path, "/dev/", 5) != 0 && !deleted && perms[0] == 'r' &&
                 perms[1] == '-' && perms[3] == 'p';
  return true;
}

// "Key:   N kB" -> N * 1024 when the line has that key.
bool Field(const char* line, const char* key, size_t* bytes) {
  size_t n = std::strlen(key);
  if (std::strncmp(line, key, n) != 0 || line[n] != ':') return false;
  unsigned long long kb = 0;
  if (std::sscanf(line + n + 1, "%llu kB", &kb) != 1) return false;
  *bytes = static_cast<size_t>(kb) * 1024;
  return true;
}

}  // namespace

std::vector<FileMapping> CleanFileMappings(const std::string& smaps) {
  std::vector<FileMapping> out;
  Entry cur;
  bool have = false;
  auto finish = [&] {
    if (have && cur.candidate && cur.clean && cur.map.rss > 0) out.push_back(cur.map);
    have = false;
  };
  size_t pos = 0;
  std::string line;
  while (pos < smaps.size()) {
    size_t nl = smaps.find('\n', pos);
    if (nl == std::string::npos) nl = smaps.size();
    line.assign(smaps, pos, nl - pos);
    pos = nl + 1;
    size_t v = 0;
    // A key line starts with a capital letter; a header with a hex digit (a-f are lower case).
    if (line.empty() || (line[0] >= 'A' && line[0] <= 'Z')) {
      if (!have) continue;
      if (Field(line.c_str(), "Rss", &v)) cur.map.rss = v;
      else if ((Field(line.c_str(), "Anonymous", &v) || Field(line.c_str(), "Swap", &v)) && v > 0) cur.clean = false;
      continue;
    }
    finish();
    Entry e;
    if (Header(line.c_str(), &e)) {
      cur = e;
      have = true;
    }
  }
  finish();
  return out;
}

namespace {

struct Release {
  const std::vector<FileMapping>* clean;
  uintptr_t page;
  size_t released;
};

// One loaded object: its clean mappings inside a read-only segment are advised now, while
// dl_iterate_phdr holds the loader's lock (no dlclose can unmap them meanwhile).
int ReleaseObject(dl_phdr_info* info, size_t, void* data) {
  auto* r = static_cast<Release*>(data);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0 || ph.p_memsz == 0) continue;
    uintptr_t lo = (info->dlpi_addr + ph.p_vaddr) & ~(r->page - 1);
    uintptr_t hi = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + r->page - 1) & ~(r->page - 1);
    for (const FileMapping& m : *r->clean) {
      if (m.start < lo || m.end > hi) continue;
      if (madvise(reinterpret_cast<void*>(m.start), m.end - m.start, MADV_DONTNEED) == 0) r->released += m.rss;
    }
  }
  return 0;  // every object
}

}  // namespace

size_t ReleaseCleanFilePages(std::string* error) {
  FILE* f = std::fopen("/proc/self/smaps", "re");
  if (f == nullptr) {
    *error = std::string("/proc/self/smaps: ") + std::strerror(errno);
    return 0;
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  std::vector<FileMapping> clean = CleanFileMappings(text);
  Release r{&clean, static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)), 0};
  dl_iterate_phdr(ReleaseObject, &r);
  if (r.released == 0) *error = "no clean page of a loaded object's read-only mapping";
  return r.released;
}

}  // namespace sonde
