// Start-up's memory given back once (native/glue/memory.cc): V8's young generation, grown while
// modules load, the C heap's freed pages, and the pages of the executable's and libraries'
// read-only mappings that start-up touched and an idle daemon does not (native/sys/file_pages.h:
// node's dynamic-linking tables, V8's and node's set-up code, the bootstrap's JavaScript sources).
// Idle RSS of the default daemon is issue 11's target.
import { binding } from './addon';

const nativeRelease = binding.releaseMemory as () => boolean;
const nativeReleaseFilePages = binding.releaseFilePages as () => { bytes: number; error?: string };

export interface StartupRelease {
  /** resident bytes of read-only file mappings taken out of this process's page tables */
  filePageBytes: number;
  /** why none could be (no /proc/self/smaps, no clean read-only mapping of a loaded object) */
  filePageError?: string;
}

/** A memory-reducing full GC now (what V8's memory reducer does ~8 s later), malloc_trim(0), and the file pages. */
export function releaseStartupMemory(): StartupRelease {
  nativeRelease();
  const fp = nativeReleaseFilePages();
  return { filePageBytes: fp.bytes, filePageError: fp.error };
}
