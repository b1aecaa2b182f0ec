// The executable's dynamic-linking tables, and giving their pages back once start-up is over.
//
// node exports every V8, libuv and OpenSSL symbol for addons: its .dynsym, .dynstr, .gnu.hash and
// .gnu.version are 7.6 MB, and the dynamic linker reads most of them while it binds the libraries
// and the addon at start (6.9 MB resident in an idle daemon, more than a tenth of it). Nothing
// reads them afterwards unless a library is loaded or a symbol looked up by name. They are clean
// pages of a read-only file mapping: MADV_DONTNEED takes them out of this process's page tables,
// the page cache keeps them, and a later lookup faults back what it reads (a minor fault).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sonde {

struct AddrRange {
  uintptr_t start;
  uintptr_t end;
};

// The whole pages of the dynamic-linking sections of the ELF file at `path`, in memory at `bias`
// (the load address of a position-independent executable, 0 otherwise), merged. Empty with
// `error` set when the file is not a readable 64-bit ELF with such sections.
std::vector<AddrRange> LinkTablePages(const char* path, uintptr_t bias, std::string* error);

// Whether [r.start, r.end) lies in mappings of this process that nobody can write (read-only or
// read-and-execute, private), per /proc/self/maps: the only kind MADV_DONTNEED may drop safely.
bool InReadOnlyMapping(const AddrRange& r);

// LinkTablePages of the ELF file at `path` mapped at `bias`, each range checked with
// InReadOnlyMapping, then advised MADV_DONTNEED. Returns the bytes advised; 0 with `error` set
// when none could be.
size_t ReleaseLinkTablesOf(const char* path, uintptr_t bias, std::string* error);

// The executable's load bias: the first object dl_iterate_phdr reports is the executable.
uintptr_t ExecutableBias();

// ReleaseLinkTablesOf this process's executable (/proc/self/exe at ExecutableBias()).
size_t ReleaseLinkTables(std::string* error);

}  // namespace sonde
