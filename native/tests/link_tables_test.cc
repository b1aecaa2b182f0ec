// sys/link_tables.cc: finding the executable's dynamic-linking tables, refusing files that are not
// usable ELF, and giving the pages back (out of the page tables, contents unchanged on re-read).
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "sys/link_tables.h"

using sonde::AddrRange;

namespace {

// Whether the page at `addr` is in this process's page tables (/proc/self/pagemap bit 63).
bool Resident(uintptr_t addr) {
  int fd = open("/proc/self/pagemap", O_RDONLY);
  uint64_t entry = 0;
  bool ok = fd >= 0 && pread(fd, &entry, sizeof(entry), static_cast<off_t>(addr / sysconf(_SC_PAGESIZE) * 8)) == 8;
  if (fd >= 0) close(fd);
  return ok && (entry >> 63) != 0;
}

std::string WriteTemp(const std::vector<uint8_t>& bytes) {
  char path[] = "/tmp/sonde-link-tables-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return "";
  ssize_t n = write(fd, bytes.data(), bytes.size());
  close(fd);
  return n == static_cast<ssize_t>(bytes.size()) ? path : "";
}

void Refuses(const std::vector<uint8_t>& bytes, const char* expect) {
  std::string path = WriteTemp(bytes);
  CHECK(!path.empty());
  std::string error;
  CHECK(sonde::LinkTablePages(path.c_str(), 0, &error).empty());
  CHECK(error.find(expect) != std::string::npos);
  if (error.find(expect) == std::string::npos) std::fprintf(stderr, "  got %s, expected %s\n", error.c_str(), expect);
  unlink(path.c_str());
}

}  // namespace

int main() {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  std::string error;

  // This test's own executable has .dynsym/.dynstr (it links libc dynamically).
  std::vector<AddrRange> pages = sonde::LinkTablePages("/proc/self/exe", sonde::ExecutableBias(), &error);
  CHECK(error.empty());
  for (size_t i = 0; i < pages.size(); i++) {
    CHECK(pages[i].start % page == 0 && pages[i].end % page == 0 && pages[i].start < pages[i].end);
    if (i > 0) CHECK(pages[i - 1].end < pages[i].start);  // merged, sorted
    CHECK(sonde::InReadOnlyMapping(pages[i]));
  }

  // Writable memory is never a candidate; nor a range with an unmapped hole.
  static std::vector<char> heap(4 * page);
  uintptr_t h = (reinterpret_cast<uintptr_t>(heap.data()) + page - 1) & ~(page - 1);
  CHECK(!sonde::InReadOnlyMapping({h, h + page}));
  CHECK(!sonde::InReadOnlyMapping({0, page}));

  // The executable's own tables: whatever whole pages they hold are released (a small test
  // binary may have none), and symbol lookups by name still work after it.
  error.clear();
  size_t own = sonde::ReleaseLinkTables(&error);
  size_t own_expected = 0;
  for (const AddrRange& r : pages) own_expected += r.end - r.start;
  CHECK(own == own_expected);
  CHECK(dlsym(RTLD_DEFAULT, "malloc") != nullptr);

  // A file of our own, mapped read-only as the loader maps an executable: its .dynstr pages leave
  // the page tables and come back, unchanged, on the next read.
  {
    const char names[] = "\0.shstrtab\0.dynstr\0";
    const size_t size = 6 * page;
    std::vector<uint8_t> file(size);
    for (size_t k = 2 * page; k < size; k++) file[k] = static_cast<uint8_t>(k * 7 + 3);
    Elf64_Ehdr e{};
    std::memcpy(e.e_ident, ELFMAG, SELFMAG);
    e.e_ident[EI_CLASS] = ELFCLASS64;
    e.e_shentsize = sizeof(Elf64_Shdr);
    e.e_shnum = 3;
    e.e_shstrndx = 1;
    e.e_shoff = sizeof(e);
    Elf64_Shdr sh[3] = {};
    sh[1].sh_size = sizeof(names);
    sh[1].sh_offset = sizeof(e) + sizeof(sh);
    sh[2].sh_name = 11;  // .dynstr, at the same offset in the file and in memory
    sh[2].sh_addr = sh[2].sh_offset = 2 * page;
    sh[2].sh_size = 3 * page;
    sh[2].sh_flags = SHF_ALLOC;
    std::memcpy(file.data(), &e, sizeof(e));
    std::memcpy(file.data() + sizeof(e), sh, sizeof(sh));
    std::memcpy(file.data() + sizeof(e) + sizeof(sh), names, sizeof(names));
    std::string path = WriteTemp(file);
    int fd = open(path.c_str(), O_RDONLY);
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    CHECK(map != MAP_FAILED);
    if (map != MAP_FAILED) {
      auto base = reinterpret_cast<uintptr_t>(map);
      const auto* tables = reinterpret_cast<const uint8_t*>(base + 2 * page);
      volatile uint8_t sink = 0;
      for (size_t k = 0; k < 3 * page; k += page) sink = sink + tables[k];  // resident now
      CHECK(Resident(base + 2 * page) && Resident(base + 4 * page));
      error.clear();
      CHECK(sonde::ReleaseLinkTablesOf(path.c_str(), base, &error) == 3 * page);
      CHECK(!Resident(base + 2 * page) && !Resident(base + 3 * page) && !Resident(base + 4 * page));
      CHECK(std::memcmp(tables, file.data() + 2 * page, 3 * page) == 0);  // read back from the file
      CHECK(Resident(base + 3 * page));
      // The same file in a writable mapping: never advised.
      munmap(map, size);
      fd = open(path.c_str(), O_RDONLY);
      map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      close(fd);
      error.clear();
      CHECK(sonde::ReleaseLinkTablesOf(path.c_str(), reinterpret_cast<uintptr_t>(map), &error) == 0);
      CHECK(error.find("read-only mapping") != std::string::npos);
      munmap(map, size);
    }
    unlink(path.c_str());
  }

  // Files that are not usable ELF: refused with a reason, nothing read past their end.
  error.clear();
  CHECK(sonde::LinkTablePages("/nonexistent/sonde", 0, &error).empty());
  CHECK(error.find("No such file") != std::string::npos);
  Refuses({'n', 'o', 't', ' ', 'e', 'l', 'f'}, "not a 64-bit ELF");
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  std::vector<uint8_t> bytes(reinterpret_cast<uint8_t*>(&eh), reinterpret_cast<uint8_t*>(&eh) + sizeof(eh));
  Refuses(bytes, "no usable section headers");  // no sections at all
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = 3;
  eh.e_shstrndx = 1;
  eh.e_shoff = 1 << 20;  // past the end
  bytes.assign(reinterpret_cast<uint8_t*>(&eh), reinterpret_cast<uint8_t*>(&eh) + sizeof(eh));
  Refuses(bytes, "section headers past the end");
  // Headers present, the names section pointing past the end of the file.
  eh.e_shoff = sizeof(eh);
  Elf64_Shdr sh[3] = {};
  sh[1].sh_size = 64;
  sh[1].sh_offset = 1 << 20;
  bytes.assign(reinterpret_cast<uint8_t*>(&eh), reinterpret_cast<uint8_t*>(&eh) + sizeof(eh));
  bytes.insert(bytes.end(), reinterpret_cast<uint8_t*>(sh), reinterpret_cast<uint8_t*>(sh) + sizeof(sh));
  Refuses(bytes, "section names past the end");
  // A sane file: a .dynstr that is whole pages only in part, and a writable .dynsym (never taken).
  const char names[] = "\0.shstrtab\0.dynstr\0.dynsym\0";
  Elf64_Ehdr e4 = eh;
  e4.e_shnum = 4;
  Elf64_Shdr s4[4] = {};
  s4[1].sh_size = sizeof(names);
  s4[1].sh_offset = sizeof(e4) + sizeof(s4);
  s4[2].sh_name = 11;  // .dynstr
  s4[2].sh_addr = 0x1800;
  s4[2].sh_size = 0x2000;
  s4[2].sh_flags = SHF_ALLOC;
  s4[3].sh_name = 19;  // .dynsym
  s4[3].sh_addr = 0x8000;
  s4[3].sh_size = 0x1000;
  s4[3].sh_flags = SHF_ALLOC | SHF_WRITE;
  s4[0].sh_name = 4000;  // a name offset out of bounds: skipped
  bytes.assign(reinterpret_cast<uint8_t*>(&e4), reinterpret_cast<uint8_t*>(&e4) + sizeof(e4));
  bytes.insert(bytes.end(), reinterpret_cast<uint8_t*>(s4), reinterpret_cast<uint8_t*>(s4) + sizeof(s4));
  bytes.insert(bytes.end(), names, names + sizeof(names));
  std::string path = WriteTemp(bytes);
  error.clear();
  std::vector<AddrRange> found = sonde::LinkTablePages(path.c_str(), 0x10000, &error);
  CHECK(error.empty());
  CHECK(found.size() == 1 && found[0].start == 0x12000 && found[0].end == 0x13000);
  unlink(path.c_str());
  // Without the .dynstr: nothing to release, and it says so.
  s4[2].sh_flags = 0;
  bytes.assign(reinterpret_cast<uint8_t*>(&e4), reinterpret_cast<uint8_t*>(&e4) + sizeof(e4));
  bytes.insert(bytes.end(), reinterpret_cast<uint8_t*>(s4), reinterpret_cast<uint8_t*>(s4) + sizeof(s4));
  bytes.insert(bytes.end(), names, names + sizeof(names));
  Refuses(bytes, "no dynamic-linking sections");
  return check::Finish("link_tables_test");
}
