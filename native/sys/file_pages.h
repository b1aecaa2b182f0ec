// Start-up's pages of read-only file mappings, given back once start-up is over.
//
// Start-up runs code and reads data that an idle daemon does not touch again: the dynamic linker
// reads node's symbol tables (it exports every V8, libuv and OpenSSL symbol: 7.6 MB), V8 sets up
// and deserializes its snapshot, node compiles its bootstrap from the JavaScript sources it keeps
// in .rodata, OpenSSL parses the CA bundle, ICU loads its tables. And the kernel maps a page cache
// folio whole on a fault, so a touched function brings its neighbours in. Of the `node` binary's
// 33 MB resident at ready, an idle daemon touches 15-18 MB over its first minutes.
// These are clean pages of private, read-only file mappings: the page cache holds the same bytes,
// and the kernel may drop them from a process's page tables itself at any time (reclaim). So may
// we: MADV_DONTNEED takes them out, and the next access faults back what it reads (a minor fault).
// A mapping with any private (anonymous or swapped) page is left alone: MADV_DONTNEED would throw
// that copy away (a RELRO segment's relocated pages, a debugger's breakpoint). And only mappings of
// the loaded ELF objects' read-only segments are advised, under the loader's lock: those stay
// mapped for the process's life, where another file mapping could be unmapped and its range reused
// (by an anonymous mapping MADV_DONTNEED would zero) between reading smaps and advising.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sonde {

struct FileMapping {
  uintptr_t start;
  uintptr_t end;
  /** resident bytes (smaps Rss) */
  size_t rss;
};

// The mappings of `smaps` (the text of /proc/PID/smaps) that are private, not writable, backed by
// a regular file (an absolute path other than /dev/..., not deleted), with resident pages and
// neither anonymous nor swapped ones.
std::vector<FileMapping> CleanFileMappings(const std::string& smaps);

// CleanFileMappings of this process that lie in a read-only PT_LOAD segment of a loaded object
// (dl_iterate_phdr: the executable, its libraries, the addon), each advised MADV_DONTNEED.
// Returns the resident bytes advised (their smaps Rss); 0 with `error` set when none could be.
size_t ReleaseCleanFilePages(std::string* error);

}  // namespace sonde
