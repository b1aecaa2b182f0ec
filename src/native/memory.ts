// Start-up's memory given back once (native/glue/memory.cc): V8's young generation, grown while
// modules load, the C heap's freed pages, and the pages of node's dynamic-linking tables that
// binding the libraries and the addon read (native/sys/link_tables.h). Idle RSS of the default
// daemon is issue 11's target.
import { binding } from './addon';

const nativeRelease = binding.releaseMemory as () => boolean;
const nativeReleaseLinkTables = binding.releaseLinkTables as () => { bytes: number; error?: string };

export interface StartupRelease {
  /** bytes of the executable's dynamic-linking tables taken out of this process's page tables */
  linkTableBytes: number;
  /** why none could be (not an ELF executable, no such sections, not in a read-only mapping) */
  linkTableError?: string;
}

/** A memory-reducing full GC now (what V8's memory reducer does ~8 s later), malloc_trim(0), and the link tables. */
export function releaseStartupMemory(): StartupRelease {
  nativeRelease();
  const lt = nativeReleaseLinkTables();
  return { linkTableBytes: lt.bytes, linkTableError: lt.error };
}
