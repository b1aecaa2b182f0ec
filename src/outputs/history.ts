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
  private entries: HistoryEntry[] = [];
  private nextId = 0;

  constructor(readonly limit = DEFAULT_HISTORY_LIMIT) {}

  add(e: Omit<HistoryEntry, 'id'>): void {
    if (this.limit === 0) return;
    this.entries.push({ ...e, id: this.nextId++ });
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
  }

  /** Oldest first. */
  list(): readonly HistoryEntry[] {
    return this.entries;
  }

  byId(id: number): HistoryEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  /** The newest probe of `target` (of `module` too, when given). */
  latest(target: string, module?: string): HistoryEntry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.target === target && (!module || e.module === module)) return e;
    }
    return undefined;
  }
}
