// The bench's progress on stderr: on a terminal one bar redrawn in place (src/cli/progress.ts),
// erased before any line goes to stdout; otherwise one plain line per step, so a log of a piped
// run still shows where it is. stdout carries only the scenarios' lines.
import { Progress } from '../../src/cli/progress';

/** What a scenario calls as it goes: a short label, and how far it is (0..1) when it knows. */
export type Tick = (label: string, fraction?: number) => void;

const BAR = 24;

export function bar(fraction: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const n = Math.round(f * BAR);
  return `[${'#'.repeat(n)}${'.'.repeat(BAR - n)}]`;
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export class BenchProgress {
  private readonly t0 = Date.now();
  private scenario = '';
  private index = 0;
  private label = '';
  private fraction = 0;
  private readonly live?: Progress;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    if (stream.isTTY) this.live = new Progress(stream, () => this.text());
  }

  text(): string {
    const overall = (this.index + this.fraction) / Math.max(1, this.total);
    return `${bar(overall)} ${Math.min(this.index + 1, this.total)}/${this.total} ${this.scenario}${this.label ? `: ${this.label}` : ''}  ${clock(Date.now() - this.t0)}`;
  }

  begin(index: number, scenario: string): void {
    this.index = index;
    this.scenario = scenario;
    this.label = '';
    this.fraction = 0;
    this.show();
  }

  readonly tick: Tick = (label, fraction) => {
    if (fraction !== undefined) this.fraction = Math.min(1, Math.max(0, fraction));
    if (label === this.label) return;
    this.label = label;
    this.show();
  };

  private show(): void {
    if (this.live) {
      this.live.clear();
      this.stream.write(`\r\x1b[K${this.text().slice(0, (this.stream.columns || 80) - 1)}`);
    } else {
      this.stream.write(`bench: ${this.text()}\n`);
    }
  }

  /** Before writing to stdout (the same terminal, often). */
  clear(): void {
    this.live?.clear();
    if (this.live) this.stream.write('\r\x1b[K');
  }

  stop(): void {
    this.live?.stop();
    if (this.live) this.stream.write('\r\x1b[K');
  }
}
