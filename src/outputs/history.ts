// The last probes /probe ran, for the / page and /logs (blackbox's prober.ResultHistory):
// --history.limit of them (blackbox's default 100), newest last, each with the text its
// &debug=true answer would have had.
export interface HistoryEntry {
  id: number;
  module: string;
  target: string;
  success: boolean;
  /** the probe's debug text (src/api/probe_handler.ts debugText), made when asked */
  log(): string;
}

export const DEFAULT_HISTORY_LIMIT = 100;

export class ResultHistory {
  // A ring of `limit` places: at thousands of /probe answers a second, an add is one store, not a
  // copy of the entry and a shift of the whole list.
  private readonly ring: Array<HistoryEntry | undefined>;
  private next = 0;
  private nextId = 0;

  constructor(readonly limit = DEFAULT_HISTORY_LIMIT) {
    this.ring = new Array<HistoryEntry | undefined>(limit).fill(undefined);
  }

  add(e: Omit<HistoryEntry, 'id'>): void {
    if (this.limit === 0) return;
    this.ring[this.next] = { id: this.nextId++, module: e.module, target: e.target, success: e.success, log: e.log };
    this.next = (this.next + 1) % this.limit;
  }

  /** Oldest first. */
  list(): readonly HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (let i = 0; i < this.limit; i++) {
      const e = this.ring[(this.next + i) % this.limit];
      if (e) out.push(e);
    }
    return out;
  }

  byId(id: number): HistoryEntry | undefined {
    return this.ring.find((e) => e?.id === id);
  }

  /** The newest probe of `target` (of `module` too, when given). */
  latest(target: string, module?: string): HistoryEntry | undefined {
    for (let i = 1; i <= this.limit; i++) {
      const e = this.ring[(this.next - i + this.limit) % this.limit];
      if (e && e.target === target && (!module || e.module === module)) return e;
    }
    return undefined;
  }
}
