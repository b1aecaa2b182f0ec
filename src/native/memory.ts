// Start-up's memory given back once (native/glue/memory.cc): V8's young generation, grown while
// modules load, the C heap's freed pages, and the pages of node's dynamic-linking tables that
// binding the libraries and the addon read (native/sys/link_tables.h); and, while the daemon runs,
// what an idle V8 keeps (IdleReducer). Idle RSS of the default daemon is issue 11's target.
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

const nativeReduce = binding.reduceMemory as () => void;

/** How often an idle daemon gives memory back (src/daemon.ts). */
export const IDLE_REDUCE_MS = 30_000;

/**
 * What V8's memory reducer would do if an idle daemon ever armed it (native/glue/memory.cc
 * reduceMemory): an incremental, memory-reducing GC. Only at an idle instant, no probe in flight,
 * so that no probe's JS-timed phase carries its final pause (a few ms). The default daemon's worst
 * 5-s RSS sample over 3 idle minutes: 60.5 -> 60.1 MB (README, idle RSS). tick() is the timer's work.
 */
export class IdleReducer {
  /** memory-reducing GCs started */
  reductions = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly busy: () => boolean,
    private readonly reduce: () => void = nativeReduce,
  ) {}

  start(everyMs = IDLE_REDUCE_MS): void {
    this.timer ??= setInterval(() => this.tick(), everyMs).unref();
  }

  tick(): void {
    if (this.busy()) return;
    this.reduce();
    this.reductions++;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
