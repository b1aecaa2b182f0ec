// A status line on stderr for long runs (a terminal only): redrawn in place once a second, and
// erased before the command prints its result, so neither piped stdout nor --json is touched.
export class Progress {
  private readonly timer: NodeJS.Timeout;
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly line: () => string,
    everyMs = 1000,
  ) {
    this.timer = setInterval(() => this.draw(), everyMs);
    this.timer.unref();
  }

  private draw(): void {
    const cols = this.stream.columns || 80;
    this.stream.write(`\r\x1b[K${this.line().slice(0, cols - 1)}`);
    this.shown = true;
  }

  /** Erases the line now (before other output to the same terminal); the next tick draws it again. */
  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
