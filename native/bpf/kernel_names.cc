// What the kernel's own tables say about a drop: reason names from its BTF, code locations from
// /proc/kallsyms, and this process's network namespace. Read once, cached; no BPF object needed.
#include "bpf/kernel_names.h"

#include <bpf/btf.h>
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace sonde {

// The tables below are built on first use and never destroyed: the tracer's poll thread reads them,
// and a process that exits while it runs (a daemon that failed to listen, say) must not have them
// freed under it by the exit's static destructors (that was a double free, reproduced under load).
const std::map<uint32_t, std::string>& DropReasonNames() {
  static const std::map<uint32_t, std::string>* names = new std::map<uint32_t, std::string>([] {
    std::map<uint32_t, std::string> out;
    btf* b = btf__load_vmlinux_btf();
    if (!b) return out;
    int id = btf__find_by_name_kind(b, "skb_drop_reason", BTF_KIND_ENUM);
    if (id > 0) {
      const btf_type* t = btf__type_by_id(b, id);
      const struct btf_enum* e = btf_enum(t);
      static const char kPrefix[] = "SKB_DROP_REASON_";
      for (int i = 0; i < btf_vlen(t); i++, e++) {
        std::string name = btf__name_by_offset(b, e->name_off);
        if (name.rfind(kPrefix, 0) == 0) name = name.substr(sizeof kPrefix - 1);
        out[static_cast<uint32_t>(e->val)] = name;
      }
    }
    btf__free(b);
    return out;
  }());
  return *names;
}

std::string DropReasonName(uint32_t reason) {
  const auto& names = DropReasonNames();
  auto it = names.find(reason);
  if (it != names.end()) return it->second;
  // Since 6.8 the upper 16 bits name a subsystem (SKB_DROP_REASON_SUBSYS_SHIFT) with its own enum.
  if (reason >> 16) return "SUBSYS_" + std::to_string(reason >> 16) + "_" + std::to_string(reason & 0xffff);
  return "REASON_" + std::to_string(reason);
}

namespace {

// The kernel's text symbols, sorted by address: names packed in one buffer (about 130,000 of them;
// a std::string each cost several MB more, and an idle daemon that never sees a drop keeps them).
struct SymbolTable {
  struct Sym {
    uint64_t addr;
    uint32_t name;  // offset into names
  };
  std::vector<Sym> syms;
  std::string names;

  void Load() {
    FILE* f = std::fopen("/proc/kallsyms", "re");
    if (f == nullptr) return;
    char line[512];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      // "ffffffff81000000 T _stext" or with "\t[module]"; only text symbols can free an skb.
      char* end = nullptr;
      uint64_t v = std::strtoull(line, &end, 16);
      if (end == line || end[0] != ' ' || (end[1] != 't' && end[1] != 'T') || end[2] != ' ') continue;
      const char* name = end + 3;
      size_t len = std::strcspn(name, " \t\n");
      if (v == 0 || len == 0) continue;
      syms.push_back({v, static_cast<uint32_t>(names.size())});
      names.append(name, len);
      names.push_back('\0');
    }
    std::fclose(f);
    std::sort(syms.begin(), syms.end(), [](const Sym& x, const Sym& y) { return x.addr < y.addr; });
    syms.shrink_to_fit();
    names.shrink_to_fit();
  }
};

}  // namespace

std::string KernelSymbol(uint64_t addr) {
  static std::once_flag once;
  static SymbolTable& table = *new SymbolTable();  // never destroyed: see DropReasonNames
  std::call_once(once, [] {
    table.Load();
    ReleaseFreedMemory();  // the read's transient buffers
  });
  const auto& syms = table.syms;
  char hex[32];
  snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(addr));
  auto it = std::upper_bound(syms.begin(), syms.end(), addr, [](uint64_t v, const SymbolTable::Sym& s) { return v < s.addr; });
  if (addr == 0 || it == syms.begin()) return hex;
  --it;
  char off[32];
  snprintf(off, sizeof off, "+0x%llx", static_cast<unsigned long long>(addr - it->addr));
  return std::string(&table.names[it->name]) + off;
}

void ReleaseFreedMemory() {
  // glibc keeps freed heap (libbpf's parse of the kernel's BTF, a few MB) for reuse; give it back.
  malloc_trim(0);
}

uint32_t SelfNetnsInode() {
  struct stat st;
  if (stat("/proc/self/ns/net", &st) != 0) return 0;
  return static_cast<uint32_t>(st.st_ino);
}

}  // namespace sonde
