// Start-up's memory given back once (native/glue/memory.cc): V8's young generation, grown while
// modules load, and the C heap's freed pages. Idle RSS of the default daemon is issue 11's target.
import { binding } from './addon';

const nativeRelease = binding.releaseMemory as () => boolean;

/** A memory-reducing full GC now (what V8's memory reducer does ~8 s later) and malloc_trim(0). */
export function releaseStartupMemory(): void {
  nativeRelease();
}
