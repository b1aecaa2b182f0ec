// sys/file_pages.cc: which mappings of smaps are clean read-only file mappings, and giving the
// pages of the loaded objects' ones back (out of the page tables, contents unchanged on re-read).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "sys/file_pages.h"

using sonde::FileMapping;

namespace {

// Whether the page at `addr` is in this process's page tables (/proc/self/pagemap bit 63).
bool Resident(uintptr_t addr) {
  int fd = open("/proc/self/pagemap", O_RDONLY);
  uint64_t entry = 0;
  bool ok = fd >= 0 && pread(fd, &entry, sizeof(entry), static_cast<off_t>(addr / sysconf(_SC_PAGESIZE) * 8)) == 8;
  if (fd >= 0) close(fd);
  return ok && (entry >> 63) != 0;
}

// One smaps entry: its header line and the lines that decide.
std::string Entry(const char* header, unsigned rss_kb, unsigned anon_kb = 0, unsigned swap_kb = 0) {
  char body[256];
  std::snprintf(body, sizeof(body),
                "Size:               %u kB\nRss:                %u kB\nPss:                %u kB\nAnonymous:          %u kB\n"
                "Swap:               %u kB\nVmFlags: rd mr mw me\n",
                rss_kb * 2, rss_kb, rss_kb, anon_kb, swap_kb);
  return std::string(header) + "\n" + body;
}

// Read-only data of this executable: a page of it, aligned, that the test reads and releases.
alignas(65536) const unsigned char kTable[3 * 65536] = {1, 2, 3};

}  // namespace

int main() {
  // The parser: a table of entries, each with whether it is a clean read-only file mapping.
  struct Case {
    const char* what;
    std::string entry;
    bool clean;
  } cases[] = {
      {"the executable's read-only data", Entry("00400000-00b6f000 r--p 00000000 fd:01 1234                      /usr/bin/node", 6928), true},
      {"its text", Entry("00b6f000-02601000 r-xp 0076f000 fd:01 1234                      /usr/bin/node", 21112), true},
      {"a path with spaces", Entry("7f0000000000-7f0000001000 r--p 00000000 fd:01 99   /opt/my dir/lib.so", 4), true},
      {"writable", Entry("0563e000-0565c000 rw-p 0523d000 fd:01 1234                      /usr/bin/node", 124), false},
      {"shared", Entry("7f0000002000-7f0000202000 r--s 00000000 00:0e 4321                      /memfd:x", 2048), false},
      {"with a relocated (anonymous) page", Entry("0563a000-0563e000 r--p 05239000 fd:01 1234                      /usr/bin/node", 16, 4), false},
      {"with a swapped private page", Entry("0563a000-0563e000 r--p 05239000 fd:01 1234                      /usr/bin/node", 12, 0, 4), false},
      {"nothing resident", Entry("7f0000003000-7f0000004000 r--p 00000000 fd:01 77                      /usr/lib/libz.so.1", 0), false},
      {"anonymous", Entry("7f0000005000-7f0000006000 r--p 00000000 00:00 0 ", 4), false},
      {"the heap", Entry("353af000-367e7000 rw-p 00000000 00:00 0                          [heap]", 4304), false},
      {"a device", Entry("7f0000007000-7f0000008000 r--p 00000000 00:05 12                      /dev/zero", 4), false},
      {"a deleted file", Entry("7f0000009000-7f000000a000 r--p 00000000 fd:01 55                      /tmp/x (deleted)", 4), false},
      {"an anonymous inode", Entry("7f000000b000-7f000000c000 r--p 00000000 00:0e 1066                      anon_inode:bpf-map", 4), false},
  };
  std::string all;
  size_t expect = 0;
  for (const Case& c : cases) {
    std::vector<FileMapping> got = sonde::CleanFileMappings(c.entry);
    CHECK(got.size() == (c.clean ? 1u : 0u));
    if (got.size() != (c.clean ? 1u : 0u)) std::fprintf(stderr, "  %s: %zu mappings\n", c.what, got.size());
    all += c.entry;
    expect += c.clean ? 1 : 0;
  }
  std::vector<FileMapping> got = sonde::CleanFileMappings(all);
  CHECK(got.size() == expect);
  CHECK(!got.empty() && got[0].start == 0x400000 && got[0].end == 0xb6f000 && got[0].rss == 6928u * 1024);
  CHECK(sonde::CleanFileMappings("").empty());
  CHECK(sonde::CleanFileMappings("Rss: 4 kB\nnot a header\n").empty());
  // The last entry of a file without its final newline still counts.
  std::string cut = Entry("00400000-00401000 r--p 00000000 fd:01 1 /bin/x", 4);
  cut.pop_back();
  CHECK(sonde::CleanFileMappings(cut).size() == 1);

  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  // A file of our own, mapped read-only and touched: clean, but not a loaded object, so it stays.
  char path[] = "/tmp/sonde-file-pages-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  std::vector<char> bytes(4 * page, 'x');
  CHECK(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  void* map = mmap(nullptr, bytes.size(), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  CHECK(map != MAP_FAILED);
  volatile char sink = static_cast<const char*>(map)[page];

  // The executable's read-only data leaves the page tables and comes back, unchanged, on a read.
  auto table = reinterpret_cast<uintptr_t>(kTable);
  const volatile unsigned char* t = kTable;  // read from memory, not folded by the compiler
  sink = sink + static_cast<char>(t[0] + t[65536]);
  CHECK(Resident(table));
  std::string error;
  size_t released = sonde::ReleaseCleanFilePages(&error);
  CHECK(released > 0 && error.empty());
  CHECK(!Resident(table) && !Resident(table + 65536));
  CHECK(t[0] == 1 && t[1] == 2 && t[2] == 3 && t[65536] == 0);
  CHECK(Resident(table));
  CHECK(Resident(reinterpret_cast<uintptr_t>(map) + page));
  munmap(map, bytes.size());
  unlink(path);
  (void)sink;
  return check::Finish("file_pages");
}
